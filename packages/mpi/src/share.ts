import { createHash } from 'node:crypto';
import type { Collective } from './world.js';

/**
 * Rank `rank`'s rows of a global batch of `total` rows split over `size` ranks:
 * [floor(rank·total/size), floor((rank+1)·total/size)), so the ranks' rows are the batch's rows
 * in order and their counts differ by at most one.
 */
export function shareOf(rank: number, size: number, total: number): { lo: number; hi: number } {
  return { lo: Math.floor((rank * total) / size), hi: Math.floor(((rank + 1) * total) / size) };
}

/**
 * Refuses, on every rank at once, to go on when the ranks' `text` differ (settings, the
 * prepared data): each rank compares the sha256 of its text with rank 0's, and the ranks that
 * differ are named in one line thrown by all ranks.
 */
export function checkSameOnAllRanks(world: Collective, what: string, text: string): void {
  if (world.size === 1) return;
  const mine = createHash('sha256').update(text).digest();
  const root = Uint8Array.from(mine);
  world.broadcast(root, 0);
  const differs = new Int32Array(world.size);
  differs[world.rank] = Buffer.compare(Buffer.from(root), mine) === 0 ? 0 : 1;
  world.allreduce(differs, 'sum');
  const ranks = [...differs.keys()].filter((r) => differs[r] !== 0);
  if (ranks.length > 0)
    throw new Error(
      `${what} differ between ranks: rank${ranks.length > 1 ? 's' : ''} ${ranks.join(', ')} of ${world.size} disagree${ranks.length > 1 ? '' : 's'} with rank 0 (every rank needs the same build, settings and data files)`,
    );
}
