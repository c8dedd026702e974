import type { Collective } from './world.js';

/** How a row-sparse allreduce went: which way it moved the rows and the bytes it moved. */
export interface RowsReduced {
  sparse: boolean;
  /** Payload bytes this rank received (gathered ids and rows, or the dense buffer's size). */
  bytes: number;
}

/**
 * Sum-allreduce, in place, of a [rows, width] table that is zero outside `touched` on every rank
 * (an embedding's gradient: only the batch's tokens' rows), as Horovod reduces embedding
 * gradients: the ranks' touched row ids are gathered, and when the touched rows of all ranks are
 * fewer bytes than a ring allreduce of the whole table moves, their values are gathered and
 * summed in rank order; otherwise the table is allreduced densely. Either way every rank ends
 * with the sum; the sparse sum adds rank 0's row first, then rank 1's, ... (at 2 ranks exactly
 * the dense sum's value, since a + b = b + a in floating point).
 */
export function allreduceRows(
  world: Collective,
  table: Float32Array,
  width: number,
  touched: Int32Array,
): RowsReduced {
  if (world.size === 1) return { sparse: false, bytes: 0 };
  const rows = Int32Array.from(new Set(touched)).sort();
  const ids = world.allgather(rows);
  const denseBytes = ((2 * (world.size - 1)) / world.size) * table.length * 4;
  const sparseBytes = ids.data.length * (width + 1) * 4;
  if (sparseBytes >= denseBytes) {
    world.allreduce(table, 'sum');
    return { sparse: false, bytes: table.length * 4 };
  }
  const mine = new Float32Array(rows.length * width);
  rows.forEach((row, k) => {
    mine.set(table.subarray(row * width, (row + 1) * width), k * width);
  });
  const values = world.allgather(mine).data;
  for (const row of ids.data) table.fill(0, row * width, (row + 1) * width);
  for (let k = 0; k < ids.data.length; k++) {
    const at = ids.data[k] * width;
    for (let e = 0; e < width; e++) table[at + e] += values[k * width + e];
  }
  return { sparse: true, bytes: sparseBytes };
}
