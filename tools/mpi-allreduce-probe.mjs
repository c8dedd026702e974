#!/usr/bin/env node
// Checks an MPI job's fabric the way training uses it: run under the launcher
// (`mpirun -np N --host ... node tools/mpi-allreduce-probe.mjs`), every rank reports its host,
// then rank 0 prints the sum-allreduce's time and bus bandwidth (2(N-1)/N x bytes / time, what a
// ring moves per rank) for float32 buffers of 4 KB to 64 MB, and checks the sums.
import { world } from '../packages/mpi/dist/index.js';

const w = world();
const hosts = w.allgather(Int32Array.from(Buffer.from(w.host.padEnd(32).slice(0, 32))));
if (w.rank === 0) {
  const names = [];
  for (let r = 0; r < w.size; r++)
    names.push(String.fromCharCode(...hosts.data.subarray(r * 32, (r + 1) * 32)).trim());
  console.log(`${w.size} ranks on ${names.join(', ')} (${w.library})`);
  console.log('| bytes | ms per allreduce | bus GB/s |');
  console.log('| --- | --- | --- |');
}
for (const bytes of [4096, 4 << 20, 64 << 20]) {
  const a = new Float32Array(bytes / 4).fill(w.rank + 1);
  w.allreduce(a); // warm-up (connections, buffers)
  const reps = bytes >= 64 << 20 ? 5 : 20;
  w.barrier();
  const started = performance.now();
  for (let k = 0; k < reps; k++) {
    a.fill(w.rank + 1);
    w.allreduce(a);
  }
  const ms = (performance.now() - started) / reps;
  const want = (w.size * (w.size + 1)) / 2;
  if (a[0] !== want || a[a.length - 1] !== want)
    throw new Error(`allreduce of ${bytes} bytes summed to ${a[0]}, expected ${want}`);
  const bus = (((2 * (w.size - 1)) / w.size) * bytes) / (ms / 1000) / 1e9;
  if (w.rank === 0) console.log(`| ${bytes} | ${ms.toFixed(2)} | ${bus.toFixed(2)} |`);
}
