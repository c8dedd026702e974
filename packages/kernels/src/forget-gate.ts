// The effective forget gate F of a layer from its pre-activations, on Float32Arrays (no tfjs),
// for the forget-gate statistics of a natively trained task model (paper Figure 4). The equations
// are cells' gate() (LAYOUT.md "Gate mechanisms"), which the tests hold it to.
import {
  type BlockName,
  gateFamily,
  layerLayout,
  type ResolvedLayerConfig,
} from '@urgate/contract';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** cumax over `width` units starting at `at`: cumsum(softmax(x)), into out[0..width). */
function cumax(pre: Float32Array, at: number, width: number, out: Float64Array): void {
  let max = -Infinity;
  for (let j = 0; j < width; j++) max = Math.max(max, pre[at + j]);
  let sum = 0;
  for (let j = 0; j < width; j++) {
    out[j] = Math.exp(pre[at + j] - max);
    sum += out[j];
  }
  let run = 0;
  for (let j = 0; j < width; j++) {
    run += out[j] / sum;
    out[j] = run;
  }
}

/** F [rows, d] of pre-activations pre [rows, cols] (cols: the layer's layout). */
export function effectiveForget(
  cfg: ResolvedLayerConfig,
  pre: Float32Array,
  rows: number,
): Float32Array {
  const { cols, blocks } = layerLayout(cfg);
  const d = cfg.hiddenSize;
  const offset = (name: BlockName) => {
    const b = blocks.find((x) => x.name === name);
    if (b === undefined) throw new Error(`${cfg.mechanism}${cfg.core}: no '${name}' block`);
    return b.offset;
  };
  const family = gateFamily(cfg.mechanism);
  const ordered = family === 'ordered' || family === 'orderedRefine' || family === 'cumaxMaster';
  const masters = family === 'cumaxMaster' || family === 'sigmoidMaster';
  const refine = family === 'refine' || family === 'orderedRefine';
  // the blocks' column offsets, looked up once per call rather than once per row
  const fAt = offset('f');
  const rAt = refine ? offset('r') : 0;
  const mfAt = masters ? offset('mf') : 0;
  const miAt = masters ? offset('mi') : 0;
  const m = masters ? d / cfg.downsize : 0;
  const F = new Float32Array(rows * d);
  const f = new Float64Array(d);
  const masterF = new Float64Array(m);
  const masterI = new Float64Array(m);
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    const out = F.subarray(r * d, r * d + d);
    // the base forget gate: cumax for the ordered families (their masters are sigmoid-based f)
    if (ordered && !masters) cumax(pre, row + fAt, d, f);
    else for (let j = 0; j < d; j++) f[j] = sigmoid(pre[row + fAt + j]);
    if (refine) {
      const at = row + rAt;
      for (let j = 0; j < d; j++) {
        const g = sigmoid(pre[at + j]);
        out[j] = f[j] * (2 * g + (1 - 2 * g) * f[j]);
      }
    } else if (masters) {
      if (family === 'cumaxMaster') {
        cumax(pre, row + mfAt, m, masterF);
        cumax(pre, row + miAt, m, masterI);
        for (let k = 0; k < m; k++) masterI[k] = 1 - masterI[k];
      } else {
        for (let k = 0; k < m; k++) {
          masterF[k] = sigmoid(pre[row + mfAt + k]);
          masterI[k] = sigmoid(pre[row + miAt + k]);
        }
      }
      for (let j = 0; j < d; j++) {
        const k = Math.floor(j / cfg.downsize);
        const overlap = masterF[k] * masterI[k];
        out[j] = f[j] * overlap + (masterF[k] - overlap);
      }
    } else {
      out.set(f);
    }
  }
  return F;
}
