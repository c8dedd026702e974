// What every package's benchmark shares: how it is sized (URGATE_BENCH_<NAME> variables), how it
// times (median of repeats after a warm-up), and the machine line it prints first, so that a
// ratio is read with the load it was measured under. Benchmarks run from their sources:
// `node --import @urgate/source-hooks/register --conditions=@urgate/source bench/<name>.ts`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A size of the benchmark: URGATE_BENCH_<NAME> when set, else `fallback`. */
export function benchSize(name: string, fallback: number): number {
  const text = process.env[`URGATE_BENCH_${name}`];
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n))
    throw new Error(`URGATE_BENCH_${name}: expected a number, got '${text}'`);
  return n;
}

/** A list of sizes: URGATE_BENCH_<NAME> as comma-separated numbers when set, else `fallback`. */
export function benchList(name: string, fallback: number[]): number[] {
  const text = process.env[`URGATE_BENCH_${name}`];
  if (text === undefined) return fallback;
  const values = text.split(',').map(Number);
  if (values.some((n) => !Number.isFinite(n)))
    throw new Error(`URGATE_BENCH_${name}: expected numbers separated by commas, got '${text}'`);
  return values;
}

/** The q-quantile (lower) of `values`, NaN for none; the median is quantile(values, 0.5). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Median milliseconds of `iters` calls of `fn`, after one warm-up call. */
export function timeMs(fn: () => void, iters: number): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** What `fn` returned and the seconds it took. */
export async function timed<R>(fn: () => Promise<R> | R): Promise<[R, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, (performance.now() - t0) / 1000];
}

/** `2 cores (<cpu model>), load average 1.23`: the machine a result was measured on, now. */
export function machine(): string {
  return `${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), load average ${loadavg()[0].toFixed(2)}`;
}

/** Debian's python3; with python3-torch it measures the benchmarks' PyTorch references. */
export const PYTHON = '/usr/bin/python3';

export function torchAvailable(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch']).status === 0;
}

/**
 * The thread settings a PyTorch reference runs under, of which the benchmarks compare the best:
 * one torch thread beside two OpenBLAS threads, and torch's defaults.
 */
const TORCH_SETTINGS = [
  { threads: '1', env: { OPENBLAS_NUM_THREADS: '2' }, label: 'torch 1 thread, OpenBLAS 2' },
  { threads: '0', env: {}, label: 'torch defaults' },
] as const;

export const TORCH_SETTINGS_NOTE =
  'best of (torch.set_num_threads(1), OPENBLAS_NUM_THREADS=2) and default threads';

/** PYTHONPATH with python/ (urgate_bench.py, what the PyTorch references share) first. */
function pythonPath(): string {
  const own = fileURLToPath(new URL('../python', import.meta.url));
  return [own, process.env.PYTHONPATH].filter(Boolean).join(delimiter);
}

/**
 * Runs `python3 <script> --threads <n> ...args` under each thread setting and returns the JSON
 * each successful run printed; a failed run is reported on stderr and left out.
 */
export function runTorchReference<R>(
  script: string,
  args: string[],
): { label: string; result: R }[] {
  const results: { label: string; result: R }[] = [];
  for (const s of TORCH_SETTINGS) {
    const r = spawnSync(PYTHON, [script, '--threads', s.threads, ...args], {
      env: { ...process.env, ...s.env, PYTHONPATH: pythonPath() },
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      console.error(`${script} (${s.label}) failed: ${r.stderr.trim().split('\n').pop()}`);
      continue;
    }
    results.push({ label: s.label, result: JSON.parse(r.stdout) as R });
  }
  return results;
}
