// Run by collectives.test.ts under mpirun: every rank makes the same collective calls on
// rank-dependent inputs and prints what it got as one JSON line; the test checks the lines
// against sums computed independently.
import { allreduceRows, checkSameOnAllRanks, world } from '../src/index.js';

const w = world();

function collectives() {
  // float32 across the 2^24-element bucket boundary: rank r holds r + k % 7 at element k
  const n = 2 ** 24 + 5;
  const big = new Float32Array(n);
  for (let k = 0; k < n; k++) big[k] = w.rank + (k % 7);
  w.allreduce(big);
  const f64 = Float64Array.of(0.1 * (w.rank + 1), -w.rank);
  w.allreduce(f64);
  const max = Int32Array.of(w.rank * 10, -w.rank);
  w.allreduce(max, 'max');
  const min = Int32Array.of(w.rank * 10, -w.rank);
  w.allreduce(min, 'min');
  const bytes = Uint8Array.from({ length: 5 }, (_, k) => w.rank * 16 + k);
  w.broadcast(bytes, w.size - 1);
  const gathered = w.allgather(Int32Array.from({ length: w.rank + 1 }, () => w.rank));
  return {
    big: [big[0], big[6], big[2 ** 24 - 1], big[2 ** 24], big[n - 1]],
    f64: Array.from(f64),
    max: Array.from(max),
    min: Array.from(min),
    bytes: Array.from(bytes),
    gathered: Array.from(gathered.data),
    counts: Array.from(gathered.counts),
  };
}

/**
 * A [V, E] gradient nonzero only in rank r's rows: the sparse reduce against the sum in rank
 * order of every rank's table (gathered whole) and against MPI's dense allreduce.
 */
function rows(V: number) {
  const E = 3;
  const touched = Int32Array.from({ length: 4 }, (_, k) => (7 * w.rank + 3 * k) % V);
  const table = new Float32Array(V * E);
  for (const row of touched)
    for (let e = 0; e < E; e++) table[row * E + e] += Math.fround(1 / (3 + row + e + w.rank));
  const every = w.allgather(table).data;
  const inOrder = new Float32Array(V * E);
  for (let r = 0; r < w.size; r++)
    for (let k = 0; k < V * E; k++) inOrder[k] += every[r * V * E + k];
  const dense = table.slice();
  w.allreduce(dense);
  const sparse = table.slice();
  const how = allreduceRows(w, sparse, E, touched);
  const same = (a: Float32Array, b: Float32Array) => a.every((x, k) => Object.is(x, b[k]));
  return { ...how, equalsRankOrder: same(sparse, inOrder), equalsDense: same(sparse, dense) };
}

function agree(): string {
  try {
    checkSameOnAllRanks(w, 'the test settings', w.rank === w.size - 1 ? 'other' : 'same');
    return 'agreed';
  } catch (e) {
    return (e as Error).message;
  }
}

const line = {
  rank: w.rank,
  size: w.size,
  collectives: collectives(),
  fewRows: rows(1000), // 4 rows a rank of 1000: gathering them moves far fewer bytes
  allRows: rows(8), // every row touched: the dense allreduce is cheaper and is used
  agree: agree(),
};
process.stdout.write(`${JSON.stringify(line)}\n`);
