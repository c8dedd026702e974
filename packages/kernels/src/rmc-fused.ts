// runRmcFused: the Relational Memory Core over a whole sequence as a single
// tfjs op whose forward and backward passes are the native kernels
// (csrc/rmc.cc). @urgate/rmc's runRmc calls it when the addon is built.
import * as tf from '@tensorflow/tfjs';
import { type NativeAddon, requireNative } from './native.js';
import {
  type RmcAddon,
  type RmcKernelShape,
  type RmcNativeShape,
  rmcGateColumns,
} from './rmc-native.js';
import { trackTape, untrackTape } from './tapes.js';
import { expectShape, floats, rows } from './tensors.js';

/** One attention block's weights (rmc's blocks.<k>.*). D = memSize, F = numHeads·(2·keySize + headSize). */
export interface RmcKernelBlockWeights {
  qkvW: tf.Tensor; // [D, F]
  qkvB: tf.Tensor; // [F]
  qkvGamma: tf.Tensor; // [F]
  qkvBeta: tf.Tensor; // [F]
  attentionGamma: tf.Tensor; // [D]
  attentionBeta: tf.Tensor; // [D]
  mlpGamma: tf.Tensor; // [D]
  mlpBeta: tf.Tensor; // [D]
}

/**
 * All weights. `gate.bias` is the sum of rmc's gate.memory.b, gate.input.b and gate.offset
 * (the three are added to the same pre-activations); `gate` is absent for gateStyle 'none'.
 * The gate columns are in rmc's order: i f ('-', 'C-', 'U-'), r f ('UR-'), i f mf mi ('OM-').
 */
export interface RmcKernelWeights {
  inputW: tf.Tensor; // [inputSize, D]
  inputB: tf.Tensor; // [D]
  blocks: RmcKernelBlockWeights[];
  mlp: { W: tf.Tensor; b: tf.Tensor }[]; // [D, D], [D]
  gate?: { memoryW: tf.Tensor; inputW: tf.Tensor; bias: tf.Tensor }; // [D, G], [D, G], [G]
}

export type RmcFusedResult = {
  /** The memory after each step, flattened: [T, B, memSlots · memSize]. */
  outputs: tf.Tensor3D;
  /** The memory after the last step, [B, memSlots, memSize]. */
  memory: tf.Tensor3D;
};

/** The weights in the kernel's flat order (csrc/rmc.h RmcParamSizes) with their names and shapes. */
function flatWeights(spec: RmcKernelShape, w: RmcKernelWeights): [tf.Tensor, string, number[]][] {
  const D = spec.headSize * spec.numHeads;
  const F = spec.numHeads * (2 * spec.keySize + spec.headSize);
  const G = rmcGateColumns(spec);
  if (!Array.isArray(w.blocks) || w.blocks.length !== spec.numBlocks)
    throw new RangeError(`weights.blocks: expected ${spec.numBlocks} blocks (spec.numBlocks)`);
  if (!Array.isArray(w.mlp) || w.mlp.length !== spec.mlpLayers)
    throw new RangeError(`weights.mlp: expected ${spec.mlpLayers} layers (spec.mlpLayers)`);
  const flat: [tf.Tensor, string, number[]][] = [
    [w.inputW, 'weights.inputW', [spec.inputSize, D]],
    [w.inputB, 'weights.inputB', [D]],
  ];
  w.blocks.forEach((b, k) => {
    const at = `weights.blocks[${k}].`;
    flat.push(
      [b.qkvW, `${at}qkvW`, [D, F]],
      [b.qkvB, `${at}qkvB`, [F]],
      [b.qkvGamma, `${at}qkvGamma`, [F]],
      [b.qkvBeta, `${at}qkvBeta`, [F]],
      [b.attentionGamma, `${at}attentionGamma`, [D]],
      [b.attentionBeta, `${at}attentionBeta`, [D]],
      [b.mlpGamma, `${at}mlpGamma`, [D]],
      [b.mlpBeta, `${at}mlpBeta`, [D]],
    );
  });
  w.mlp.forEach((l, k) => {
    flat.push([l.W, `weights.mlp[${k}].W`, [D, D]], [l.b, `weights.mlp[${k}].b`, [D]]);
  });
  if (spec.gateStyle !== 'none') {
    if (w.gate === undefined)
      throw new TypeError(`weights.gate: required for gateStyle '${spec.gateStyle}'`);
    flat.push(
      [w.gate.memoryW, 'weights.gate.memoryW', [D, G]],
      [w.gate.inputW, 'weights.gate.inputW', [D, G]],
      [w.gate.bias, 'weights.gate.bias', [G]],
    );
  } else if (w.gate !== undefined) {
    throw new TypeError(`weights.gate: gateStyle 'none' has no gates`);
  }
  return flat;
}

/**
 * The RMC of @urgate/rmc (its README "One step") over xs [T, B, inputSize] from memory0
 * [B, memSlots, memSize], computed by the native kernels: one tfjs op whose gradient is BPTT
 * in one call, for xs, memory0 and every weight. Throws (one line naming the field) for specs
 * the kernel does not cover or misshapen tensors, and when the addon is not built.
 */
export function runRmcFused(
  spec: RmcKernelShape,
  weights: RmcKernelWeights,
  xs: tf.Tensor3D,
  memory0: tf.Tensor3D,
): RmcFusedResult {
  const addon = requireNative('runRmcFused') as NativeAddon & RmcAddon;
  if (!(xs instanceof tf.Tensor) || xs.rank !== 3)
    throw new RangeError(`xs: expected a [T, B, ${spec.inputSize}] tensor`);
  const [T, B] = xs.shape;
  const N = spec.memSlots;
  const D = spec.headSize * spec.numHeads;
  expectShape(xs, [T, B, spec.inputSize], 'xs');
  expectShape(memory0, [B, N, D], 'memory0');
  const flat = flatWeights(spec, weights);
  for (const [t, name, shape] of flat) expectShape(t, shape, name);
  const nativeSpec: RmcNativeShape = {
    inputSize: spec.inputSize,
    memSlots: N,
    headSize: spec.headSize,
    numHeads: spec.numHeads,
    keySize: spec.keySize,
    numBlocks: spec.numBlocks,
    mlpLayers: spec.mlpLayers,
    gateStyle: spec.gateStyle,
    mechanism: spec.mechanism,
    downsize: spec.downsize,
    batch: B,
    steps: T,
  };

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    // the last argument is tfjs' save function
    const [x, m0, ...ws] = args.slice(0, 2 + flat.length) as tf.Tensor[];
    const xv = floats(x);
    const wv = ws.map(floats);
    const f = addon.rmcForward(nativeSpec, wv, xv, floats(m0));
    const value = tf.tensor3d(f.outputs, [T, B, N * D]);
    trackTape(f.tape, (t) => addon.rmcReleaseTape(t));
    const gradFunc = (dy: tf.Tensor): tf.Tensor[] => {
      untrackTape(f.tape);
      const g = addon.rmcBackward(f.tape, wv, xv, floats(dy));
      return [
        tf.tensor3d(g.dxs, xs.shape),
        tf.tensor3d(g.dmemory0, [B, N, D]),
        ...g.grads.map((d, k) => tf.tensor(d, flat[k][2])),
      ];
    };
    return { value, gradFunc };
  });

  return tf.tidy(() => {
    const outputs = op(xs, memory0, ...flat.map(([t]) => t)) as tf.Tensor3D;
    // The last step, as a view (tf.slice's gradient would be a tfjs pad over all of outputs).
    const memory = rows(outputs, xs.shape[0] - 1, 1).reshape([B, N, D]) as tf.Tensor3D;
    return { outputs, memory };
  });
}
