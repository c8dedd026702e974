import {
  type BlockName,
  gateBlocks,
  LAYER_NORM_EPSILON,
  type ResolvedRmcConfig,
} from '@urgate/contract';
import type { ExportRmc } from '../spec.js';
import type { GraphBuilder, GraphScope } from './builder.js';
import { gates } from './layer.js';

/**
 * The RMC's tensors as graph initializers, named `rmc.<checkpoint name>`. The three constant
 * terms of the gate pre-activation (`gate.memory.b`, `gate.input.b`, `gate.offset`) are summed
 * into one `rmc.gate.bias`, added to the input term outside the recurrence.
 */
export interface RmcInitializers {
  config: ResolvedRmcConfig;
  tensor: (name: string) => string;
  /** `[cols]`, or null for gateStyle 'none'. */
  gateBias: string | null;
  /** The identity memory the core starts from (packages/rmc `initialMemory`), `[1, N, memSize]`. */
  memory0: string;
}

const GATE_BIASES = ['gate.memory.b', 'gate.input.b', 'gate.offset'];

export function rmcInitializers(scope: GraphScope, rmc: ExportRmc): RmcInitializers {
  const { config, params } = rmc;
  const names = new Map<string, string>();
  for (const [name, t] of Object.entries(params))
    if (!GATE_BIASES.includes(name))
      names.set(name, scope.floatTensor(`rmc.${name}`, t.shape, t.data));
  let gateBias: string | null = null;
  if (config.gateStyle !== 'none') {
    const [m, i, o] = GATE_BIASES.map((name) => params[name].data);
    const sum = m.map((v, k) => v + i[k] + o[k]);
    gateBias = scope.floatTensor('rmc.gate.bias', [sum.length], sum);
  }
  const { memSlots: N, memSize: D } = config;
  const eye = new Float32Array(N * D);
  for (let s = 0; s < Math.min(N, D); s++) eye[s * D + s] = 1;
  const tensor = (name: string): string => {
    const v = names.get(name);
    if (!v) throw new Error(`RMC has no tensor ${name}`);
    return v;
  };
  return { config, tensor, gateBias, memory0: scope.floatTensor('rmc.memory0', [1, N, D], eye) };
}

/**
 * The input terms of a whole sequence of character ids `[T, B]`, outside the recurrence: the
 * projection x̂ = onehot(x)·input.W + input.b (a row lookup, `[T, B, memSize]`) and the gates'
 * input term x̂·gate.input.W + gate.bias (`[T, B, cols]`, null without gates).
 */
export function rmcInputTerms(
  g: GraphBuilder,
  w: RmcInitializers,
  ids: string,
  tag: string,
): { xp: string; gx: string | null } {
  const xp = g.add(g.op1('Gather', [w.tensor('input.W'), ids]), w.tensor('input.b'), `${tag}_xp`);
  const gx = w.gateBias
    ? g.add(g.op1('MatMul', [xp, w.tensor('gate.input.W')]), w.gateBias, `${tag}_gx`)
    : null;
  return { xp, gx };
}

function layerNorm(g: GraphBuilder, x: string, w: RmcInitializers, name: string): string {
  return g.op1(
    'LayerNormalization',
    [x, w.tensor(`${name}.gamma`), w.tensor(`${name}.beta`)],
    { axis: -1, epsilon: LAYER_NORM_EPSILON },
    name.replace(/\./g, '_'),
  );
}

/**
 * Multi-head dot-product attention of every row of `m` `[B, S, memSize]` over all rows; a
 * row's qkv features are laid out head by head, each head [q (keySize), k (keySize), v
 * (headSize)], as packages/rmc `multiheadAttention`.
 */
function attention(g: GraphBuilder, w: RmcInitializers, block: number, m: string): string {
  const s = g.scope;
  const { numHeads: H, keySize: K, headSize: Hs, memSize: D } = w.config;
  const p = `blocks.${block}`;
  const qkv = layerNorm(
    g,
    g.add(g.op1('MatMul', [m, w.tensor(`${p}.qkv.W`)]), w.tensor(`${p}.qkv.b`)),
    w,
    `${p}.qkvNorm`,
  );
  const perHead = g.op1('Transpose', [g.op1('Reshape', [qkv, s.int64s([0, 0, H, 2 * K + Hs])])], {
    perm: [0, 2, 1, 3],
  });
  const [q, k, v] = g.op('Split', [perHead, s.int64s([K, K, Hs])], { axis: -1 }, 3, 'qkv');
  const scores = g.op1('MatMul', [
    g.mul(q, s.floatScalar(K ** -0.5)),
    g.op1('Transpose', [k], { perm: [0, 1, 3, 2] }),
  ]);
  const weights = g.op1('Softmax', [scores], { axis: -1 }, 'attention_weights');
  const heads = g.op1('Transpose', [g.op1('MatMul', [weights, v])], { perm: [0, 2, 1, 3] });
  return g.op1('Reshape', [heads, s.int64s([0, 0, D])], {}, 'attended');
}

/** The shared MLP: Linear, then ReLU and Linear for each further layer. */
function mlp(g: GraphBuilder, w: RmcInitializers, x: string): string {
  let h = x;
  for (let l = 0; l < w.config.attentionMlpLayers; l++) {
    if (l > 0) h = g.op1('Relu', [h]);
    h = g.add(g.op1('MatMul', [h, w.tensor(`mlp.${l}.W`)]), w.tensor(`mlp.${l}.b`));
  }
  return h;
}

/**
 * One step of the core (packages/rmc `rmcStep`, reference/rmc.md): `memory` `[B, N, memSize]`,
 * `xp` the projected input `[B, memSize]`, `gx` the gates' input term `[B, cols]`. Returns the
 * next memory `[B, N, memSize]`.
 */
export function rmcStep(
  g: GraphBuilder,
  w: RmcInitializers,
  memory: string,
  xp: string,
  gx: string | null,
): string {
  const s = g.scope;
  const cfg = w.config;
  const N = cfg.memSlots;
  let m = g.op1('Concat', [memory, g.op1('Unsqueeze', [xp, s.int64s([1])])], { axis: 1 });
  for (let k = 0; k < cfg.numBlocks; k++) {
    m = layerNorm(g, g.add(m, attention(g, w, k, m)), w, `blocks.${k}.attentionNorm`);
    m = layerNorm(g, g.add(m, mlp(g, w, m)), w, `blocks.${k}.mlpNorm`);
  }
  const attended = g.op1('Slice', [m, s.int64s([0]), s.int64s([N]), s.int64s([1])]);
  if (!gx) return attended;

  // pre = tanh(M_prev)·gate.memory.W + gx (broadcast over slots), as B·N rows of gate blocks.
  const { cols, blocks } = gateBlocks(cfg);
  const fromMemory = g.op1('MatMul', [g.tanh(memory), w.tensor('gate.memory.W')]);
  const pre = g.op1('Reshape', [
    g.add(fromMemory, g.op1('Unsqueeze', [gx, s.int64s([1])])),
    s.int64s([-1, cols]),
  ]);
  const parts = g.op(
    'Split',
    [pre, s.int64s(blocks.map((b) => b.width))],
    { axis: -1 },
    blocks.length,
    'gate_block',
  );
  const { F, I } = gates(
    g,
    { core: 'lstm', mechanism: cfg.mechanism, downsize: cfg.downsize, hiddenSize: cfg.gateSize },
    new Map<BlockName, string>(blocks.map((b, k) => [b.name, parts[k]])),
  );
  const perSlot = (x: string) => g.op1('Reshape', [x, s.int64s([-1, N, cfg.gateSize])]);
  return g.add(g.mul(perSlot(I), g.tanh(attended)), g.mul(perSlot(F), memory), 'memory_next');
}
