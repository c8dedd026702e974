// Data parallelism on the one training loop (Horovod's and DDP's semantics): parameters
// broadcast from rank 0, and once a step the ranks' gradients summed, each rank's already
// weighted by its share of the global batch, so every rank holds the gradient of the global
// batch's mean loss and takes the same optimizer step.
import * as tf from '@tensorflow/tfjs';
import { allreduceRows, type Collective } from '@urgate/mpi';

/** Rank 0's parameter values on every rank (one broadcast of all of them). */
export function broadcastParams(world: Collective, vars: tf.Variable[]): void {
  if (world.size === 1) return;
  const flat = new Float32Array(vars.reduce((n, v) => n + v.size, 0));
  let at = 0;
  for (const v of vars) {
    flat.set(v.dataSync() as Float32Array, at);
    at += v.size;
  }
  world.broadcast(flat, 0);
  at = 0;
  for (const v of vars) {
    v.assign(tf.tensor(flat.subarray(at, at + v.size), v.shape));
    at += v.size;
  }
}

/** What a step's reduction needs of the problem: its share and its row-sparse gradients. */
export interface RankShare {
  share?(): number;
  touchedRows?(): Record<string, Int32Array>;
  params: Record<string, tf.Variable>;
}

/** What one step's reduction cost this rank. */
export interface Reduced {
  /** The global batch's loss. */
  loss: number;
  ms: number;
  /** Payload bytes: the dense buffer's size plus gathered rows (or dense embedding tables). */
  bytes: number;
}

/**
 * In place, the global batch's gradients from this rank's: `grads` (one array per parameter,
 * in `names`' order: tensors' copies, or views of one flat native arena) and `loss` are means
 * over this rank's rows; each is weighted by the rank's `share` and summed over ranks, the loss
 * riding in the same allreduce as the dense gradients. Parameters named in `touched` (a [rows,
 * width] table, zero outside those rows on every rank) go by allreduceRows: gathered rows when
 * cheaper, else dense.
 */
export function reduceGradientArrays(
  world: Collective,
  grads: { name: string; values: Float32Array; width: number }[],
  loss: number,
  share: number,
  touched: Record<string, Int32Array> = {},
): Reduced {
  if (share !== 1)
    for (const { values } of grads) for (let k = 0; k < values.length; k++) values[k] *= share;
  const dense = grads.filter((g) => !touched[g.name]);
  const flat = new Float32Array(dense.reduce((n, g) => n + g.values.length, 0) + 1);
  let at = 0;
  for (const { values } of dense) {
    flat.set(values, at);
    at += values.length;
  }
  flat[at] = loss * share;
  const started = performance.now();
  world.allreduce(flat, 'sum');
  let bytes = flat.length * 4;
  for (const g of grads) {
    const rows = touched[g.name];
    if (rows) bytes += allreduceRows(world, g.values, g.width, rows).bytes;
  }
  const ms = performance.now() - started;
  at = 0;
  for (const { values } of dense) {
    values.set(flat.subarray(at, at + values.length));
    at += values.length;
  }
  return { loss: flat[at], ms, bytes };
}

/** reduceGradientArrays for tfjs gradients (in the order of `problem.params`): new tensors. */
export function reduceGradients(
  world: Collective,
  problem: RankShare,
  grads: tf.Tensor[],
  loss: number,
): Reduced & { grads: tf.Tensor[] } {
  const arrays = Object.keys(problem.params).map((name, i) => ({
    name,
    values: Float32Array.from(grads[i].dataSync() as Float32Array),
    width: grads[i].shape[1] ?? 1,
  }));
  const reduced = reduceGradientArrays(
    world,
    arrays,
    loss,
    problem.share?.() ?? 1 / world.size,
    problem.touchedRows?.(),
  );
  return { ...reduced, grads: arrays.map((a, i) => tf.tensor(a.values, grads[i].shape)) };
}
