// Data parallelism on the one training loop (Horovod's and DDP's semantics): parameters
// broadcast from rank 0, and once a step the ranks' gradients summed, each rank's already
// weighted by its share of the global batch, so every rank holds the gradient of the global
// batch's mean loss and takes the same optimizer step.
import type { ModelArenas } from '@urgate/kernels/native';
import { allreduceRows, type Collective } from '@urgate/mpi';

/** Rank 0's parameter values on every rank (one broadcast of the parameter arena). */
export function broadcastParams(world: Collective, model: ModelArenas): void {
  if (world.size === 1) return;
  world.broadcast(model.params, 0);
  model.paramsWritten?.();
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
 * In place, the global batch's gradients from this rank's: `grads` (one array per tensor,
 * views of the model's gradient arena) and `loss` are means
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
