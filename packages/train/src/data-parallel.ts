// Data parallelism on the one training loop (Horovod's and DDP's semantics): parameters
// broadcast from rank 0, and once a step the ranks' gradients summed, each rank's already
// weighted by its share of the global batch, so every rank holds the gradient of the global
// batch's mean loss and takes the same optimizer step.
import { createHash } from 'node:crypto';
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
 * over this rank's rows; each is weighted by the rank's `share` and summed over ranks, the dense
 * gradients where they lie in the arena (one allreduce per run of adjacent tensors), the loss in
 * one more. Parameters named in `touched` (a [rows,
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
  const runs = adjacentRuns(grads.filter((g) => !touched[g.name]).map((g) => g.values));
  const lossSum = Float32Array.of(loss * share);
  const started = performance.now();
  for (const run of runs) world.allreduce(run, 'sum');
  world.allreduce(lossSum, 'sum');
  let bytes = runs.reduce((n, run) => n + run.byteLength, lossSum.byteLength);
  for (const g of grads) {
    const rows = touched[g.name];
    if (rows) bytes += allreduceRows(world, g.values, g.width, rows).bytes;
  }
  return { loss: lossSum[0], ms: performance.now() - started, bytes };
}

/**
 * The arrays as few in-place allreduce buffers as possible: consecutive ones that lie end to end
 * in one buffer (tensors of the gradient arena, in its order) merge into one view, so the dense
 * gradients are reduced where they are, with no copy out and back.
 */
function adjacentRuns(arrays: Float32Array[]): Float32Array[] {
  const runs: Float32Array[] = [];
  for (const a of arrays) {
    const last = runs.at(-1);
    if (last && last.buffer === a.buffer && last.byteOffset + last.byteLength === a.byteOffset)
      runs[runs.length - 1] = new Float32Array(
        last.buffer,
        last.byteOffset,
        last.length + a.length,
      );
    else runs.push(a);
  }
  return runs;
}

/**
 * sha256 (hex) of the arrays' bytes in order, each preceded by its byte length: what ranks
 * compare of the batches they generate or the files they read (DataChecksum).
 */
export function checksumOfArrays(arrays: Iterable<ArrayBufferView>): string {
  const hash = createHash('sha256');
  for (const a of arrays) {
    hash.update(BigUint64Array.of(BigInt(a.byteLength)));
    hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return hash.digest('hex');
}
