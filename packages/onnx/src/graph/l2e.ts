import type { L2eSpec } from '../spec.js';
import { GraphBuilder, GraphScope, valueInfo } from './builder.js';
import { type CellState, cellStep, type LayerInitializers } from './layer.js';
import type { GraphProto } from './proto.js';
import { stackInitializers } from './recurrence.js';

const NO_ZONEOUT = { c: 0, h: 0 };

/**
 * One layer over a sequence whose input projection `xp` ([T, B, cols]) is given. With `hold`
 * ([T, B, 1], 1 while t < length) a row keeps its state once its sequence has ended: the state
 * after the scan is the one at each row's own length (TensorFlow's dynamic_rnn with
 * sequence_length, which Sonnet's encoder uses).
 */
function scanProjected(
  g: GraphBuilder,
  w: LayerInitializers,
  xp: string,
  state: CellState,
  hold: string | null,
  tag: string,
): { state: CellState; outputs: string } {
  const s = g.scope;
  const d = w.layer.hiddenSize;
  const body = new GraphBuilder(s);
  const hIn = s.name(`${tag}_h_prev`);
  const cIn = state.c ? s.name(`${tag}_c_prev`) : null;
  const xpIn = s.name(`${tag}_xp_t`);
  const holdIn = hold ? s.name(`${tag}_hold_t`) : null;
  const stepped = cellStep(body, w, xpIn, { h: hIn, c: cIn }, NO_ZONEOUT);
  // prev + m·(new − prev): the new state while m = 1, the previous one after the row's end.
  const held = (prev: string, next: string) =>
    holdIn ? body.add(prev, body.mul(holdIn, body.sub(next, prev))) : next;
  const next: CellState = {
    h: held(hIn, stepped.h),
    c: cIn && stepped.c ? held(cIn, stepped.c) : null,
  };
  const y = body.op1('Identity', [next.h], {}, `${tag}_y_t`);
  const graph = {
    name: `${tag}_step`,
    node: body.nodes,
    input: [
      valueInfo(hIn, 'float', ['batch', d]),
      ...(cIn ? [valueInfo(cIn, 'float', ['batch', d])] : []),
      valueInfo(xpIn, 'float', ['batch', w.cols]),
      ...(holdIn ? [valueInfo(holdIn, 'float', ['batch', 1])] : []),
    ],
    output: [
      valueInfo(next.h, 'float', ['batch', d]),
      ...(next.c ? [valueInfo(next.c, 'float', ['batch', d])] : []),
      valueInfo(y, 'float', ['batch', d]),
    ],
  };
  const outNames = [
    s.name(`${tag}_h_final`),
    ...(state.c ? [s.name(`${tag}_c_final`)] : []),
    s.name(`${tag}_outputs`),
  ];
  g.opInto(
    outNames,
    'Scan',
    [state.h, ...(state.c ? [state.c] : []), xp, ...(hold ? [hold] : [])],
    { body: { graph }, num_scan_inputs: hold ? 2 : 1 },
  );
  return {
    state: { h: outNames[0], c: state.c ? outNames[1] : null },
    outputs: outNames[outNames.length - 1],
  };
}

/**
 * The Learning-to-Execute encoder-decoder: (program [Tin, B], program_lengths [B],
 * decoder_inputs [Tout, B], int64 character ids) -> (logits [Tout, B, V]). The layers read the
 * program from the zero state, each row up to its length; the decoder runs the same layers
 * (shared weights, as the trainer) from the state the program left over the decoder inputs
 * (start symbol, then the target shifted by one: teacher forcing); `output.W`, `output.b`
 * map every decoder step to character logits. Inputs are one-hot characters, so the first
 * layer's input projection is a row lookup of its weights.
 */
export function l2eGraph(spec: L2eSpec): GraphProto {
  const scope = new GraphScope();
  const g = new GraphBuilder(scope);
  const { vocabSize: V, hiddenSize: d } = spec;
  const program = scope.reserve('program');
  const lengths = scope.reserve('program_lengths');
  const decoderInputs = scope.reserve('decoder_inputs');
  const logits = scope.reserve('logits');
  const weights = stackInitializers(scope, spec.layers);
  const outW = scope.floatTensor('output.W', [d, V], spec.output.W);
  const outB = scope.floatTensor('output.b', [V], spec.output.b);
  const lstm = spec.layers[0].core === 'lstm';

  // hold[t, b] = t < program_lengths[b], as [Tin, B, 1] floats.
  const tIn = g.op1('Gather', [g.op1('Shape', [program]), scope.int64s([0], true)]);
  const steps = g.op1('Range', [scope.int64s([0], true), tIn, scope.int64s([1], true)]);
  const before = g.op1('Less', [
    g.op1('Unsqueeze', [steps, scope.int64s([1])]),
    g.op1('Unsqueeze', [lengths, scope.int64s([0])]),
  ]);
  const hold = g.op1(
    'Unsqueeze',
    [g.op1('Cast', [before], { to: 1 }), scope.int64s([2])],
    {},
    'hold',
  );

  // Zero state [B, d], B read from the program's shape.
  const batch = g.op1('Slice', [g.op1('Shape', [program]), scope.int64s([1]), scope.int64s([2])]);
  const zero = g.op1('ConstantOfShape', [g.op1('Concat', [batch, scope.int64s([d])], { axis: 0 })]);

  const project = (w: LayerInitializers, xs: string, l: number, ids: boolean) =>
    g.add(g.op1(ids ? 'Gather' : 'MatMul', ids ? [w.Wx, xs] : [xs, w.Wx]), w.bias, `xp${l}`);
  let encoded = program;
  let decoded = decoderInputs;
  weights.forEach((w, l) => {
    const enc = scanProjected(
      g,
      w,
      project(w, encoded, l, l === 0),
      { h: zero, c: lstm ? zero : null },
      hold,
      `encoder${l}`,
    );
    const dec = scanProjected(
      g,
      w,
      project(w, decoded, l, l === 0),
      enc.state,
      null,
      `decoder${l}`,
    );
    encoded = enc.outputs;
    decoded = dec.outputs;
  });
  g.opInto([logits], 'Add', [g.op1('MatMul', [decoded, outW]), outB]);

  return {
    name: 'urgate_l2e',
    node: g.nodes,
    initializer: scope.initializers,
    input: [
      valueInfo(program, 'int64', ['program_steps', 'batch']),
      valueInfo(lengths, 'int64', ['batch']),
      valueInfo(decoderInputs, 'int64', ['output_steps', 'batch']),
    ],
    output: [valueInfo(logits, 'float', ['output_steps', 'batch', V])],
  };
}
