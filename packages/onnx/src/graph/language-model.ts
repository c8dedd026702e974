import { LAYER_NORM_EPSILON } from '@urgate/contract';
import type { LanguageModelSpec } from '../spec.js';
import { GraphBuilder, GraphScope, valueInfo } from './builder.js';
import { type CellState, cellStep } from './layer.js';
import type { GraphProto } from './proto.js';
import { scanLayer, stackInitializers } from './recurrence.js';

/**
 * Where the layer axis sits in the state tensors: `layer-major` is `[L, B, d]` (the urgate API);
 * `batch-major` is `[B, L, d]`, which Triton's sequence batcher needs (batch first).
 */
export type StateLayout = 'layer-major' | 'batch-major';

export interface StepGraphOptions {
  stateLayout: StateLayout;
  /**
   * Adds a `reset` input (float `[B, 1]`, 1 = zero this row's state first): Triton's START control,
   * which the sequence batcher delivers as one value per request, batched to `[B, 1]`.
   */
  resetInput: boolean;
}

function lstm(spec: LanguageModelSpec): boolean {
  return spec.layers[0].core === 'lstm';
}

interface Head {
  embedding: string;
  /** Full softmax. */
  output: { W: string; b: string; tied: boolean } | null;
  adaptive: AdaptiveHead | null;
  gamma: string | null;
  beta: string | null;
}

interface AdaptiveHead {
  shortlist: string;
  /** The shortlist is `[c0, E]` (the embedding's rows), read transposed. */
  tied: boolean;
  clusters: string;
  headB: string;
  tails: { proj: string; out: string }[];
  shortlistSize: number;
}

function adaptiveInitializers(scope: GraphScope, spec: LanguageModelSpec): AdaptiveHead | null {
  const a = spec.adaptive;
  if (!a) return null;
  const d = spec.hiddenSize;
  const c0 = a.cutoffs[0];
  const n = a.cutoffs.length;
  const shortlist = a.shortlist
    ? scope.floatTensor('adaptive.head.shortlist', [d, c0], a.shortlist)
    : scope.name('adaptive.head.shortlist');
  return {
    shortlist,
    tied: a.shortlist === null,
    clusters: scope.floatTensor('adaptive.head.clusters', [d, n], a.clusters),
    headB: scope.floatTensor('adaptive.head.b', [c0 + n], a.headB),
    tails: a.tails.map((t, i) => ({
      proj: scope.floatTensor(`adaptive.tail.${i}.proj`, [d, t.hidden], t.proj),
      out: scope.floatTensor(`adaptive.tail.${i}.out`, [t.hidden, t.end - t.begin], t.out),
    })),
    shortlistSize: c0,
  };
}

function headInitializers(scope: GraphScope, spec: LanguageModelSpec): Head {
  const { vocabSize: V, embeddingSize: E, hiddenSize: d } = spec;
  const embedding = scope.floatTensor('embedding', [V, E], spec.embedding);
  const out = spec.output;
  return {
    embedding,
    output: out
      ? {
          W: out.W ? scope.floatTensor('output.W', [d, V], out.W) : embedding,
          b: scope.floatTensor('output.b', [V], out.b),
          tied: out.W === null,
        }
      : null,
    adaptive: adaptiveInitializers(scope, spec),
    gamma: spec.norm ? scope.floatTensor('norm.gamma', [d], spec.norm.gamma) : null,
    beta: spec.norm ? scope.floatTensor('norm.beta', [d], spec.norm.beta) : null,
  };
}

/**
 * The adaptive softmax's full log-distribution `[N, V]`: the head's log-softmax over the
 * shortlist and one logit per cluster; each cluster's words its tail's log-softmax plus the
 * cluster's head log-probability. Every tail runs on every row (exact; the tails are small).
 */
function adaptiveLogProbs(g: GraphBuilder, head: Head, a: AdaptiveHead, x: string): string {
  const { scope } = g;
  const c0 = a.shortlistSize;
  if (a.tied)
    // the embedding's rows [0, c0): a constant slice, folded by the runtime
    g.opInto([a.shortlist], 'Slice', [
      head.embedding,
      scope.int64s([0]),
      scope.int64s([c0]),
      scope.int64s([0]),
    ]);
  const short = g.op1('Gemm', [x, a.shortlist], { transB: a.tied ? 1 : 0 });
  const clusters = g.op1('MatMul', [x, a.clusters]);
  const headLogits = g.add(g.op1('Concat', [short, clusters], { axis: 1 }), a.headB);
  const headLp = g.op1('LogSoftmax', [headLogits], { axis: 1 }, 'head_logp');
  const column = (begin: number, end: number) =>
    g.op1('Slice', [headLp, scope.int64s([begin]), scope.int64s([end]), scope.int64s([1])]);
  const parts = [column(0, c0)];
  a.tails.forEach((t, i) => {
    const tail = g.op1('MatMul', [g.op1('MatMul', [x, t.proj]), t.out]);
    const tailLp = g.op1('LogSoftmax', [tail], { axis: 1 });
    parts.push(g.add(tailLp, column(c0 + i, c0 + i + 1), `tail${i}_logp`));
  });
  return g.op1('Concat', parts, { axis: 1 }, 'logp');
}

/**
 * `LN?(h)·output.W + output.b` on `[N, d]` rows; with an adaptive softmax its log-probabilities
 * (logits too: softmax(log p) = p, so sampling and scoring read them the same way).
 */
function logits(g: GraphBuilder, head: Head, h: string, output?: string): string {
  const normed = head.gamma
    ? g.op1('LayerNormalization', [h, head.gamma, head.beta as string], {
        axis: -1,
        epsilon: LAYER_NORM_EPSILON,
      })
    : h;
  if (head.adaptive) {
    const lp = adaptiveLogProbs(g, head, head.adaptive, normed);
    return output ? g.opInto([output], 'Identity', [lp])[0] : lp;
  }
  const out = head.output as NonNullable<Head['output']>;
  const inputs = [normed, out.W, out.b];
  const attrs = { transB: out.tied ? 1 : 0 };
  return output
    ? g.opInto([output], 'Gemm', inputs, attrs)[0]
    : g.op1('Gemm', inputs, attrs, 'logits');
}

/** Splits `[L, B, d]` (or `[B, L, d]`) into per-layer `[B, d]`. */
function layerStates(g: GraphBuilder, stacked: string, layers: number, axis: number): string[] {
  return Array.from({ length: layers }, (_, l) =>
    g.op1('Gather', [stacked, g.scope.int64s([l], true)], { axis }),
  );
}

/** Stacks per-layer values along `axis` into `output`. */
export function stackStates(
  g: GraphBuilder,
  perLayer: string[],
  axis: number,
  output: string,
): void {
  const expanded = perLayer.map((x) => g.op1('Unsqueeze', [x, g.scope.int64s([axis])]));
  g.opInto([output], 'Concat', expanded, { axis });
}

/**
 * The recurrent state every language-model graph carries: inputs h_in (and c_in, LSTM) and
 * outputs h_out (and c_out), each the layers' states stacked along `axis` (0: [L, batch, d],
 * 1: [batch, L, d]). `layers()` splits the inputs into each layer's state, `finish` stacks the
 * layers' final states into the outputs.
 */
export function lmStateIO(g: GraphBuilder, spec: LanguageModelSpec, axis: 0 | 1) {
  const scope = g.scope;
  const L = spec.layers.length;
  const d = spec.hiddenSize;
  const dims = axis === 0 ? [L, 'batch', d] : ['batch', L, d];
  const hIn = scope.reserve('h_in');
  const cIn = lstm(spec) ? scope.reserve('c_in') : null;
  const hOut = scope.reserve('h_out');
  const cOut = cIn ? scope.reserve('c_out') : null;
  return {
    inputs: [valueInfo(hIn, 'float', dims), ...(cIn ? [valueInfo(cIn, 'float', dims)] : [])],
    outputs: [valueInfo(hOut, 'float', dims), ...(cOut ? [valueInfo(cOut, 'float', dims)] : [])],
    layers(): CellState[] {
      const hs = layerStates(g, hIn, L, axis);
      const cs = cIn ? layerStates(g, cIn, L, axis) : [];
      return hs.map((h, l) => ({ h, c: cIn ? cs[l] : null }));
    },
    finish(states: CellState[]): void {
      stackStates(
        g,
        states.map((s) => s.h),
        axis,
        hOut,
      );
      if (cOut)
        stackStates(
          g,
          states.map((s) => s.c as string),
          axis,
          cOut,
        );
    },
  };
}

/** (tokens [B], state) -> (logits [B, V], new state): one generation step. */
export function languageModelStepGraph(
  spec: LanguageModelSpec,
  opts: StepGraphOptions,
): GraphProto {
  const scope = new GraphScope();
  const g = new GraphBuilder(scope);
  const tokens = scope.reserve('tokens');
  const reset = opts.resetInput ? scope.reserve('reset') : null;
  const state = lmStateIO(g, spec, opts.stateLayout === 'layer-major' ? 0 : 1);
  const logitsOut = scope.reserve('logits');

  const head = headInitializers(scope, spec);
  const weights = stackInitializers(scope, spec.layers);
  const keep = reset ? g.oneMinus(reset, 'keep') : null;
  const states = state.layers();
  let x = g.op1('Gather', [head.embedding, tokens], { axis: 0 }, 'x');
  const next = weights.map((w, l) => {
    const s = states[l];
    const prev: CellState = keep ? { h: g.mul(s.h, keep), c: s.c ? g.mul(s.c, keep) : null } : s;
    const xp = g.op1('Gemm', [x, w.Wx, w.bias], {}, `layer${l}_xp`);
    const stepped = cellStep(g, w, xp, prev, spec.zoneout);
    x = stepped.h;
    return stepped;
  });
  logits(g, head, x, logitsOut);
  state.finish(next);

  return {
    name: 'urgate_lm_step',
    node: g.nodes,
    initializer: scope.initializers,
    input: [
      valueInfo(tokens, 'int64', ['batch']),
      ...(reset ? [valueInfo(reset, 'float', ['batch', 1])] : []),
      ...state.inputs,
    ],
    output: [valueInfo(logitsOut, 'float', ['batch', spec.vocabSize]), ...state.outputs],
  };
}

/**
 * (tokens [T, B], targets [T, B], reset [T, B], state) -> (nll [T, B], final state): scores a chunk of
 * a token stream; `reset[t, b] = 1` zeroes row b's state before step t.
 */
export function languageModelSequenceGraph(spec: LanguageModelSpec): GraphProto {
  const scope = new GraphScope();
  const g = new GraphBuilder(scope);
  const d = spec.hiddenSize;
  const tokens = scope.reserve('tokens');
  const targets = scope.reserve('targets');
  const reset = scope.reserve('reset');
  const state = lmStateIO(g, spec, 0);
  const nllOut = scope.reserve('nll');

  const head = headInitializers(scope, spec);
  const weights = stackInitializers(scope, spec.layers);
  const keep = g.op1('Unsqueeze', [g.oneMinus(reset), scope.int64s([2])], {}, 'keep');
  const states = state.layers();
  let xs = g.op1('Gather', [head.embedding, tokens], { axis: 0 }, 'xs');
  const finals = weights.map((w, l) => {
    const r = scanLayer(g, w, xs, states[l], keep, spec.zoneout, l);
    xs = r.outputs;
    return r.state;
  });
  // Score all steps at once: [T·B, d] rows through the output layer; nll = logsumexp(logits) - logit[target]
  // (cheaper than materialising a full log-softmax of [T·B, V]); the adaptive softmax gives
  // log-probabilities, so nll = -logp[target].
  const rows = g.op1('Reshape', [xs, scope.int64s([-1, d])]);
  const rowLogits = logits(g, head, rows);
  const targetCol = g.op1('Reshape', [targets, scope.int64s([-1, 1])]);
  const picked = g.op1('GatherElements', [rowLogits, targetCol], { axis: 1 });
  const nll = head.adaptive
    ? g.op1('Neg', [picked])
    : g.sub(g.op1('ReduceLogSumExp', [rowLogits], { axes: [1], keepdims: 1 }), picked);
  g.opInto([nllOut], 'Reshape', [nll, g.op1('Shape', [targets])]);
  state.finish(finals);

  return {
    name: 'urgate_lm_sequence',
    node: g.nodes,
    initializer: scope.initializers,
    input: [
      valueInfo(tokens, 'int64', ['time', 'batch']),
      valueInfo(targets, 'int64', ['time', 'batch']),
      valueInfo(reset, 'float', ['time', 'batch']),
      ...state.inputs,
    ],
    output: [valueInfo(nllOut, 'float', ['time', 'batch']), ...state.outputs],
  };
}
