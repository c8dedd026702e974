import { type BlockName, gateFamily } from '@urgate/contract';
import type { ExportLayer, Zoneout } from '../spec.js';
import type { GraphBuilder, GraphScope } from './builder.js';

/**
 * A layer's weights as graph initializers. Columns are reordered so that the GRU's `u` block comes last:
 * its recurrent product reads `s ∘ h` and therefore gets its own matrix `WhU`; every other block reads
 * `h` through `Wh`. The input part `Wx` (and the bias) keeps all columns so that the input projection of
 * a whole sequence is one MatMul outside the recurrence.
 */
export interface LayerInitializers {
  layer: ExportLayer;
  Wx: string;
  bias: string;
  Wh: string;
  WhU: string | null;
  /** Blocks read from `xp + h·Wh`, in column order (GRU: without `u`). */
  recurrentBlocks: { name: BlockName; width: number }[];
  /** Width of `xp`, and where the GRU's `u` block starts in it. */
  cols: number;
  uOffset: number;
}

function pickColumns(
  src: Float32Array,
  rows: number,
  rowStart: number,
  cols: number,
  ranges: [number, number][],
): Float32Array {
  const width = ranges.reduce((s, [a, b]) => s + b - a, 0);
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    let o = r * width;
    const base = (rowStart + r) * cols;
    for (const [a, b] of ranges) {
      out.set(src.subarray(base + a, base + b), o);
      o += b - a;
    }
  }
  return out;
}

export function layerInitializers(
  scope: GraphScope,
  layer: ExportLayer,
  index: number,
): LayerInitializers {
  const { inputSize: n, hiddenSize: d, cols } = layer;
  const gruU = layer.core === 'gru' ? layer.blocks.find((b) => b.name === 'u') : undefined;
  const rest = layer.blocks.filter((b) => b !== gruU);
  const restRanges: [number, number][] = rest.map((b) => [b.offset, b.offset + b.width]);
  const uRanges: [number, number][] = gruU ? [[gruU.offset, gruU.offset + gruU.width]] : [];
  const allRanges = [...restRanges, ...uRanges];
  const p = `layer${index}`;
  return {
    layer,
    Wx: scope.floatTensor(`${p}.Wx`, [n, cols], pickColumns(layer.W, n, 0, cols, allRanges)),
    bias: scope.floatTensor(`${p}.bias`, [cols], pickColumns(layer.bias, 1, 0, cols, allRanges)),
    Wh: scope.floatTensor(
      `${p}.Wh`,
      [d, cols - (gruU ? d : 0)],
      pickColumns(layer.W, d, n, cols, restRanges),
    ),
    WhU: gruU
      ? scope.floatTensor(`${p}.WhU`, [d, d], pickColumns(layer.W, d, n, cols, uRanges))
      : null,
    recurrentBlocks: rest.map((b) => ({ name: b.name, width: b.width })),
    cols,
    uOffset: cols - (gruU ? d : 0),
  };
}

export interface CellState {
  h: string;
  c: string | null;
}

/** A step's new state and the effective forget gate `F` (`[B, d]`) it applied. */
export interface CellStepResult extends CellState {
  forget: string;
}

/** Repeats each master unit over `C` consecutive neurons: `[B, m] -> [B, m·C]`. */
function expandMaster(g: GraphBuilder, x: string, downsize: number, d: number): string {
  const s = g.scope;
  const col = g.op1('Unsqueeze', [x, s.int64s([2])]);
  const tiled = g.op1('Expand', [col, s.int64s([1, 1, downsize])]);
  return g.op1('Reshape', [tiled, s.int64s([0, d])]);
}

/**
 * Effective forget and input gates `(F, I)` of LAYOUT.md's mechanism table, from the blocks'
 * pre-activations (`[rows, width]`); the RMC's gates are the LSTM's over its slot rows.
 */
export function gates(
  g: GraphBuilder,
  layer: Pick<ExportLayer, 'core' | 'mechanism' | 'downsize' | 'hiddenSize'>,
  pre: Map<BlockName, string>,
): { F: string; I: string } {
  const lstm = layer.core === 'lstm';
  const block = (name: BlockName): string => {
    const v = pre.get(name);
    if (!v) throw new Error(`layer has no ${name} block`);
    return v;
  };
  const family = gateFamily(layer.mechanism);
  const f =
    family === 'ordered' || family === 'orderedRefine'
      ? g.cumax(block('f'), 'f')
      : g.sigmoid(block('f'), 'f');
  if (family === 'refine' || family === 'orderedRefine') {
    const r = g.sigmoid(block('r'), 'r');
    // g = 2·r·f + (1 - 2r)·f² = f² + 2r·(f - f²)
    const f2 = g.mul(f, f);
    const twoR = g.mul(r, g.scope.floatScalar(2));
    const refined = g.add(f2, g.mul(twoR, g.sub(f, f2)), 'g');
    return { F: refined, I: g.oneMinus(refined, 'i_eff') };
  }
  if (family === 'ordered') {
    return { F: f, I: lstm ? g.oneMinus(g.cumax(block('i')), 'i_eff') : g.oneMinus(f, 'i_eff') };
  }
  const base = lstm ? g.sigmoid(block('i'), 'i') : g.oneMinus(f, 'i');
  if (family === 'cumaxMaster' || family === 'sigmoidMaster') {
    const ordered = family === 'cumaxMaster';
    const mf = ordered ? g.cumax(block('mf')) : g.sigmoid(block('mf'));
    const mi = ordered ? g.oneMinus(g.cumax(block('mi'))) : g.sigmoid(block('mi'));
    const fm = expandMaster(g, mf, layer.downsize, layer.hiddenSize);
    const im = expandMaster(g, mi, layer.downsize, layer.hiddenSize);
    const omega = g.mul(fm, im, 'omega');
    return {
      F: g.add(g.mul(f, omega), g.sub(fm, omega), 'f_eff'),
      I: g.add(g.mul(base, omega), g.sub(im, omega), 'i_eff'),
    };
  }
  return { F: f, I: base };
}

/** `prev + (1 - z)·(candidate - prev)`: the zoneout update with the masks at their expectation `z`. */
function zoneout(g: GraphBuilder, prev: string, candidate: string, rate: number): string {
  if (rate === 0) return candidate;
  return g.add(prev, g.mul(g.sub(candidate, prev), g.scope.floatScalar(1 - rate)));
}

/**
 * One step of a layer. `xp` is the input projection `x·Wx + bias` (`[B, cols]`), `state` the
 * previous state after any reset. Returns the new state after zoneout and the effective forget gate.
 */
export function cellStep(
  g: GraphBuilder,
  w: LayerInitializers,
  xp: string,
  state: CellState,
  zo: Zoneout,
): CellStepResult {
  const { layer } = w;
  const s = g.scope;
  const lstm = layer.core === 'lstm';
  const rec = g.op1('MatMul', [state.h, w.Wh]);
  const xpRest = lstm
    ? xp
    : g.op1('Slice', [xp, s.int64s([0]), s.int64s([w.uOffset]), s.int64s([-1])]);
  const a = g.add(xpRest, rec, 'a');
  const parts = g.op(
    'Split',
    [a, s.int64s(w.recurrentBlocks.map((b) => b.width))],
    { axis: -1 },
    w.recurrentBlocks.length,
    'a_block',
  );
  const pre = new Map<BlockName, string>(w.recurrentBlocks.map((b, k) => [b.name, parts[k]]));
  const { F, I } = gates(g, layer, pre);
  if (lstm) {
    if (!state.c) throw new Error('LSTM layer without c state');
    const u = g.tanh(pre.get('u') as string, 'u');
    const o = g.sigmoid(pre.get('o') as string, 'o');
    const cCand = g.add(g.mul(F, state.c), g.mul(I, u), 'c_cand');
    const hCand = g.mul(o, g.tanh(cCand), 'h_cand');
    return {
      h: zoneout(g, state.h, hCand, zo.h),
      c: zoneout(g, state.c, cCand, zo.c),
      forget: F,
    };
  }
  const reset = g.sigmoid(pre.get('s') as string, 's');
  const xpU = g.op1('Slice', [xp, s.int64s([w.uOffset]), s.int64s([w.cols]), s.int64s([-1])]);
  const uPre = g.add(xpU, g.op1('MatMul', [g.mul(reset, state.h), w.WhU as string]));
  const u = g.tanh(uPre, 'u');
  const hCand = g.add(g.mul(F, state.h), g.mul(I, u), 'h_cand');
  return { h: zoneout(g, state.h, hCand, zo.h), c: null, forget: F };
}
