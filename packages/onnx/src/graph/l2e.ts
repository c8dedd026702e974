import { gateBlocks } from '@urgate/contract';
import type { L2eSpec } from '../spec.js';
import { GraphBuilder, GraphScope, valueInfo } from './builder.js';
import { type CellState, cellStep, type LayerInitializers } from './layer.js';
import type { GraphProto } from './proto.js';
import { scanSteps, stackInitializers } from './recurrence.js';
import { type RmcInitializers, rmcInitializers, rmcInputTerms, rmcStep } from './rmc.js';

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
  return scanSteps(g, w, xp, state, hold ? { kind: 'hold', values: hold } : null, tag, {
    step: (body, h, c, xpT, holdT) => {
      const stepped = cellStep(body, w, xpT, { h, c }, NO_ZONEOUT);
      // prev + m·(new − prev): the new state while m = 1, the previous one after the row's end.
      const held = (prev: string, next: string) =>
        holdT ? body.add(prev, body.mul(holdT, body.sub(next, prev))) : next;
      return { h: held(h, stepped.h), c: c && stepped.c ? held(c, stepped.c) : null };
    },
  });
}

/**
 * The RMC over a sequence of character ids `[T, B]` from `memory` `[B, N, memSize]`; `hold`
 * (`[T, B, 1, 1]`) keeps a row's memory once its sequence has ended, as in scanProjected.
 * Returns the final memory and the outputs `[T, B, N · memSize]`.
 */
function scanRmc(
  g: GraphBuilder,
  w: RmcInitializers,
  ids: string,
  memory: string,
  hold: string | null,
  tag: string,
): { memory: string; outputs: string } {
  const s = g.scope;
  const { memSlots: N, memSize: D } = w.config;
  const { xp, gx } = rmcInputTerms(g, w, ids, tag);
  const body = new GraphBuilder(s);
  const mIn = s.name(`${tag}_memory_prev`);
  const xpIn = s.name(`${tag}_xp_t`);
  const gxIn = gx ? s.name(`${tag}_gx_t`) : null;
  const holdIn = hold ? s.name(`${tag}_hold_t`) : null;
  const stepped = rmcStep(body, w, mIn, xpIn, gxIn);
  const next = holdIn ? body.add(mIn, body.mul(holdIn, body.sub(stepped, mIn))) : stepped;
  const y = body.op1('Reshape', [next, s.int64s([0, N * D])], {}, `${tag}_y_t`);
  const memoryInfo = (name: string) => valueInfo(name, 'float', ['batch', N, D]);
  const graph = {
    name: `${tag}_step`,
    node: body.nodes,
    input: [
      memoryInfo(mIn),
      valueInfo(xpIn, 'float', ['batch', D]),
      ...(gxIn ? [valueInfo(gxIn, 'float', ['batch', gateBlocks(w.config).cols])] : []),
      ...(holdIn ? [valueInfo(holdIn, 'float', ['batch', 1, 1])] : []),
    ],
    output: [memoryInfo(next), valueInfo(y, 'float', ['batch', N * D])],
  };
  const outNames = [s.name(`${tag}_memory_final`), s.name(`${tag}_outputs`)];
  const scanInputs = [xp, ...(gx ? [gx] : []), ...(hold ? [hold] : [])];
  g.opInto(outNames, 'Scan', [memory, ...scanInputs], {
    body: { graph },
    num_scan_inputs: scanInputs.length,
  });
  return { memory: outNames[0], outputs: outNames[1] };
}

/**
 * The LSTM/GRU layers read the program from the zero state (`[B, d]`), each row up to its
 * length, then run again (shared weights) over the decoder inputs from the state the program
 * left; the first layer's input projection of one-hot characters is a row lookup.
 */
function stackEncoderDecoder(
  g: GraphBuilder,
  spec: L2eSpec,
  program: string,
  decoderInputs: string,
  hold: string,
  batch: string,
): string {
  const scope = g.scope;
  const zero = g.op1('ConstantOfShape', [
    g.op1('Concat', [batch, scope.int64s([spec.hiddenSize])], { axis: 0 }),
  ]);
  const lstm = spec.layers[0].core === 'lstm';
  const project = (w: LayerInitializers, xs: string, l: number, ids: boolean) =>
    g.add(g.op1(ids ? 'Gather' : 'MatMul', ids ? [w.Wx, xs] : [xs, w.Wx]), w.bias, `xp${l}`);
  let encoded = program;
  let decoded = decoderInputs;
  stackInitializers(scope, spec.layers).forEach((w, l) => {
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
  return decoded;
}

/**
 * The Learning-to-Execute encoder-decoder: (program [Tin, B], program_lengths [B],
 * decoder_inputs [Tout, B], int64 character ids) -> (logits [Tout, B, V]). The core (LSTM/GRU
 * layers from the zero state, or the RMC from its identity memory) reads the program, each row
 * up to its length; the decoder runs the same core (shared weights, as the trainer) from the
 * state the program left over the decoder inputs (start symbol, then the target shifted by
 * one: teacher forcing); `output.W`, `output.b` map every decoder step to character logits.
 * Inputs are one-hot characters, so the core's input projection is a row lookup.
 */
export function l2eGraph(spec: L2eSpec): GraphProto {
  const scope = new GraphScope();
  const g = new GraphBuilder(scope);
  const { vocabSize: V, hiddenSize: d } = spec;
  const program = scope.reserve('program');
  const lengths = scope.reserve('program_lengths');
  const decoderInputs = scope.reserve('decoder_inputs');
  const logits = scope.reserve('logits');
  const outW = scope.floatTensor('output.W', [d, V], spec.output.W);
  const outB = scope.floatTensor('output.b', [V], spec.output.b);

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

  // B [1], read from the program's shape.
  const batch = g.op1('Slice', [g.op1('Shape', [program]), scope.int64s([1]), scope.int64s([2])]);

  let decoded: string;
  if (spec.rmc) {
    const w = rmcInitializers(scope, spec.rmc);
    const memory0 = g.op1('Expand', [
      w.memory0,
      g.op1('Concat', [batch, scope.int64s([1, 1])], { axis: 0 }),
    ]);
    const hold4 = g.op1('Unsqueeze', [hold, scope.int64s([3])]);
    const enc = scanRmc(g, w, program, memory0, hold4, 'encoder');
    decoded = scanRmc(g, w, decoderInputs, enc.memory, null, 'decoder').outputs;
  } else decoded = stackEncoderDecoder(g, spec, program, decoderInputs, hold, batch);
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
