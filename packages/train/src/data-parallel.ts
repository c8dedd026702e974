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

/**
 * The global batch's loss and gradients from this rank's: `grads` (in the order of
 * `problem.params`) and `loss` are means over this rank's rows; each is weighted by the rank's
 * share and summed over ranks, the loss riding in the same allreduce as the dense gradients.
 * Gradients the problem names as row-sparse go by allreduceRows (gathered rows when cheaper).
 */
export function reduceGradients(
  world: Collective,
  problem: RankShare,
  grads: tf.Tensor[],
  loss: number,
): { grads: tf.Tensor[]; loss: number; ms: number; bytes: number } {
  const share = problem.share?.() ?? 1 / world.size;
  const names = Object.keys(problem.params);
  const touched = problem.touchedRows?.() ?? {};
  const values = grads.map((g) => Float32Array.from(g.dataSync() as Float32Array));
  if (share !== 1) for (const v of values) for (let k = 0; k < v.length; k++) v[k] *= share;
  const dense = names.flatMap((name, i) => (touched[name] ? [] : [i]));
  const flat = new Float32Array(dense.reduce((n, i) => n + values[i].length, 0) + 1);
  let at = 0;
  for (const i of dense) {
    flat.set(values[i], at);
    at += values[i].length;
  }
  flat[at] = loss * share;
  const started = performance.now();
  world.allreduce(flat, 'sum');
  let bytes = flat.length * 4;
  names.forEach((name, i) => {
    const rows = touched[name];
    if (rows) bytes += allreduceRows(world, values[i], grads[i].shape[1] ?? 1, rows).bytes;
  });
  const ms = performance.now() - started;
  at = 0;
  for (const i of dense) {
    values[i].set(flat.subarray(at, at + values[i].length));
    at += values[i].length;
  }
  return {
    grads: values.map((v, i) => tf.tensor(v, grads[i].shape)),
    loss: flat[at],
    ms,
    bytes,
  };
}
