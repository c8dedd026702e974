import type { ExportLayer, Zoneout } from '../spec.js';
import { GraphBuilder, type GraphScope, valueInfo } from './builder.js';
import { type CellState, cellStep, type LayerInitializers, layerInitializers } from './layer.js';

export function stackInitializers(scope: GraphScope, layers: ExportLayer[]): LayerInitializers[] {
  return layers.map((layer, l) => layerInitializers(scope, layer, l));
}

/**
 * Runs one layer over a whole sequence with a Scan: the input projection of all steps is one MatMul
 * outside the loop, the body does the recurrent part. `keep` (`[T, B, 1]`, 1 - reset) zeroes the
 * state rows before the steps that start a new sequence. Returns the final state, the outputs
 * `[T, B, d]` and, with `withForget`, the effective forget gate of every step `[T, B, d]`.
 */
export function scanLayer(
  g: GraphBuilder,
  w: LayerInitializers,
  xs: string,
  state: CellState,
  keep: string | null,
  zo: Zoneout,
  index: number,
  withForget = false,
): { state: CellState; outputs: string; forget: string | null } {
  const s = g.scope;
  // The projection of all T·B rows as one Gemm with bias, the op the step graph uses: ONNX
  // Runtime fuses the step graph's 2-D MatMul + Add into a Gemm, which rounds differently from a
  // 3-D MatMul then Add once the input spans several K blocks (d = 1024). With the same op a row's
  // bits do not depend on the number of rows, so a state prefilled by this graph and continued by
  // the step graph (or the other way round) is the state one graph alone reaches.
  const rows = g.op1('Reshape', [xs, s.int64s([-1, w.layer.inputSize])]);
  const timeBatch = g.op1('Slice', [g.op1('Shape', [xs]), s.int64s([0]), s.int64s([2])]);
  const xp = g.op1(
    'Reshape',
    [
      g.op1('Gemm', [rows, w.Wx, w.bias]),
      g.op1('Concat', [timeBatch, s.int64s([w.cols])], { axis: 0 }),
    ],
    {},
    `layer${index}_xp`,
  );

  return scanSteps(g, w, xp, state, keep ? { kind: 'keep', values: keep } : null, `layer${index}`, {
    withForget,
    // keep zeroes the state rows before the steps that start a new sequence.
    step: (body, h, c, xpT, keepT) =>
      cellStep(
        body,
        w,
        xpT,
        keepT ? { h: body.mul(h, keepT), c: c ? body.mul(c, keepT) : null } : { h, c },
        zo,
      ),
  });
}

/** A per-row mask `[T, B, 1]` scanned beside the projection, named by what it does. */
export interface StepMask {
  kind: string;
  values: string;
}

/**
 * The Scan of one layer's recurrent steps over `xp` (the input projection of all steps,
 * `[T, B, cols]`) from `state`, with an optional per-row `mask`: `step` builds one step's body
 * from the carried h (and c), the step's projection and mask. Returns the final state, the
 * outputs `[T, B, d]` and, with `withForget`, the step's effective forget gate of every step.
 * Node names start with `tag`.
 */
export function scanSteps(
  g: GraphBuilder,
  w: LayerInitializers,
  xp: string,
  state: CellState,
  mask: StepMask | null,
  tag: string,
  options: {
    withForget?: boolean;
    step: (
      body: GraphBuilder,
      h: string,
      c: string | null,
      xpT: string,
      maskT: string | null,
    ) => CellState & { forget?: string };
  },
): { state: CellState; outputs: string; forget: string | null } {
  const s = g.scope;
  const d = w.layer.hiddenSize;
  const body = new GraphBuilder(s);
  const hIn = s.name(`${tag}_h_prev`);
  const cIn = state.c ? s.name(`${tag}_c_prev`) : null;
  const xpIn = s.name(`${tag}_xp_t`);
  const maskIn = mask ? s.name(`${tag}_${mask.kind}_t`) : null;
  const next = options.step(body, hIn, cIn, xpIn, maskIn);
  const y = body.op1('Identity', [next.h], {}, `${tag}_y_t`);
  const f =
    options.withForget && next.forget
      ? body.op1('Identity', [next.forget], {}, `${tag}_forget_t`)
      : null;
  const graph = {
    name: `${tag}_step`,
    node: body.nodes,
    input: [
      valueInfo(hIn, 'float', ['batch', d]),
      ...(cIn ? [valueInfo(cIn, 'float', ['batch', d])] : []),
      valueInfo(xpIn, 'float', ['batch', w.cols]),
      ...(maskIn ? [valueInfo(maskIn, 'float', ['batch', 1])] : []),
    ],
    output: [
      valueInfo(next.h, 'float', ['batch', d]),
      ...(next.c ? [valueInfo(next.c, 'float', ['batch', d])] : []),
      valueInfo(y, 'float', ['batch', d]),
      ...(f ? [valueInfo(f, 'float', ['batch', d])] : []),
    ],
  };
  const outNames = [
    s.name(`${tag}_h_final`),
    ...(state.c ? [s.name(`${tag}_c_final`)] : []),
    s.name(`${tag}_outputs`),
    ...(f ? [s.name(`${tag}_forget`)] : []),
  ];
  g.opInto(
    outNames,
    'Scan',
    [state.h, ...(state.c ? [state.c] : []), xp, ...(mask ? [mask.values] : [])],
    { body: { graph }, num_scan_inputs: mask ? 2 : 1 },
  );
  const stateCount = state.c ? 2 : 1;
  return {
    state: { h: outNames[0], c: state.c ? outNames[1] : null },
    outputs: outNames[stateCount],
    forget: f ? outNames[stateCount + 1] : null,
  };
}
