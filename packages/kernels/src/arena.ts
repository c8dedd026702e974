// Flat parameter arenas: a model's tensors laid end to end in the one order of its spec table,
// four times over (parameters, gradients, Adam's first and second moments). The training loop,
// checkpoints and a gradient allreduce see a model through this one shape, whoever computes it
// (the native model objects, or a tfjs model whose gradients are copied in).
import type { TensorShape } from '@urgate/contract';
import { adamStepReference } from './adam-reference.js';
import { requireNative } from './native.js';

/** A tensor of the table at its place in every arena. */
export interface ArenaTensor extends TensorShape {
  /** Element offset: the sum of the sizes before it in the table. */
  offset: number;
  size: number;
}

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Clip the global gradient norm to this value (<= 0 or absent: no clipping). */
  clipNorm?: number;
}

export type ArenaKind = 'params' | 'grads' | 'm' | 'v';

/** Who runs Adam over the arenas: the addon (csrc/adam.h) or its TypeScript twin (no addon). */
export type AdamImplementation = 'native' | 'reference';

/** What the training loop needs of a model: its arenas and the optimizer step over them. */
export interface ModelArenas {
  readonly tensors: readonly ArenaTensor[];
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** Adam steps taken (the bias corrections' t); restored from checkpoints. */
  adamSteps: number;
  /** Adam with global-norm clipping over the whole arena; returns the norm before clipping. */
  adamUpdate(options: AdamOptions): number;
  /** Told that the parameter arena was written from outside (a checkpoint restored into it). */
  paramsWritten?(): void;
}

/** Offsets of a table's tensors, each at the running sum of the sizes before it. */
export function arenaLayout(table: readonly TensorShape[]): {
  tensors: ArenaTensor[];
  size: number;
} {
  let size = 0;
  const tensors = table.map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const out = { name: t.name, shape: [...t.shape], offset: size, size: n };
    size += n;
    return out;
  });
  return { tensors, size };
}

/** One tensor's view into an arena (shares its memory). */
export function arenaView(
  model: ModelArenas,
  name: string,
  kind: ArenaKind = 'params',
): Float32Array {
  const t = model.tensors.find((x) => x.name === name);
  if (t === undefined) throw new RangeError(`${name}: not a tensor of this model`);
  return model[kind].subarray(t.offset, t.offset + t.size);
}

/** The four arenas of a table in one allocation of JavaScript memory. */
export class ParamArenas implements ModelArenas {
  readonly tensors: ArenaTensor[];
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  readonly adam: AdamImplementation;
  adamSteps = 0;

  /** adam: 'native' (the default; its updates need the addon built) or 'reference' (no addon). */
  constructor(table: readonly TensorShape[], adam: AdamImplementation = 'native') {
    this.adam = adam;
    const { tensors, size } = arenaLayout(table);
    this.tensors = tensors;
    const memory = new ArrayBuffer(4 * 4 * size);
    [this.params, this.grads, this.m, this.v] = [0, 1, 2, 3].map(
      (k) => new Float32Array(memory, 4 * k * size, size),
    );
  }

  /** Adam (csrc/adam.h, or its TypeScript twin) over the tensors in the table's order. */
  adamUpdate(options: AdamOptions): number {
    const views = (kind: ArenaKind) => this.tensors.map((t) => arenaView(this, t.name, kind));
    this.adamSteps += 1;
    const step = this.adam === 'native' ? requireNative('adamUpdate').adamStep : adamStepReference;
    return step(views('params'), views('grads'), views('m'), views('v'), {
      ...options,
      step: this.adamSteps,
    });
  }
}
