// One rank's share of the LM's global batch: rows [lo, hi) of every time-major [T, B] window
// (element t·B + b) and of the recurrent state [B, d] that those rows carry.
import type { Collective } from '@urgate/mpi';
import type { LmState } from './model.js';

/** A time-major window's per-position arrays. */
interface TimeMajor {
  steps: number;
  batch: number;
  inputs: Int32Array;
  targets: Int32Array;
  resets: Uint8Array;
  mask?: Uint8Array;
}

function columns<A extends Int32Array | Uint8Array>(
  a: A,
  steps: number,
  batch: number,
  lo: number,
  hi: number,
): A {
  const n = hi - lo;
  const out = new (a.constructor as new (length: number) => A)(steps * n);
  for (let t = 0; t < steps; t++) out.set(a.subarray(t * batch + lo, t * batch + hi), t * n);
  return out;
}

/** Rows [lo, hi) of a time-major window (the whole window when they are all its rows). */
export function windowRows<W extends TimeMajor>(w: W, lo: number, hi: number): W {
  if (lo === 0 && hi === w.batch) return w;
  const c = <A extends Int32Array | Uint8Array>(a: A) => columns(a, w.steps, w.batch, lo, hi);
  return {
    ...w,
    batch: hi - lo,
    inputs: c(w.inputs),
    targets: c(w.targets),
    resets: c(w.resets),
    ...(w.mask ? { mask: c(w.mask) } : {}),
  };
}

/** Rows [lo, hi) of a [B, d] state array. */
export function stateRows(data: Float32Array, width: number, lo: number, hi: number): Float32Array {
  return data.slice(lo * width, hi * width);
}

/**
 * The global batch's state [B, d] per layer and kind (h, c) from every rank's rows: each rank
 * places its rows at [lo, hi) of a zero array and the arrays are summed over ranks, which is
 * exact (x + 0 = x).
 */
export function gatherStateRows(
  world: Collective,
  state: LmState,
  width: number,
  lo: number,
  total: number,
): { l: number; key: 'h' | 'c'; data: Float32Array; shape: [number, number] }[] {
  const out: { l: number; key: 'h' | 'c'; data: Float32Array; shape: [number, number] }[] = [];
  state.forEach((s, l) => {
    for (const key of ['h', 'c'] as const) {
      const mine = s[key];
      if (!mine) continue;
      const data = new Float32Array(total * width);
      data.set(mine, lo * width);
      if (world.size > 1) world.allreduce(data, 'sum');
      out.push({ l, key, data, shape: [total, width] });
    }
  });
  return out;
}
