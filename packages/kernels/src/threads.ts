import { native, nativeLoadError } from './native.js';

/** Threads used by OpenBLAS and the row-parallel kernels (env URGATE_NUM_THREADS, default 1). */
export function nativeThreads(): number {
  return native?.numThreads() ?? 0;
}

/** The instruction set the kernels' vectorised loops run with on this CPU, chosen at load (csrc/simd.h); undefined without the addon. */
export function nativeVectorPath(): string | undefined {
  return native?.vectorPath;
}

/** Measured OpenBLAS sgemm GFLOP/s of [M, K]·[K, N] with the kernels' thread setting (a benchmark yardstick). */
export function measureSgemmGflops(M: number, N: number, K: number, reps = 50): number {
  if (native === undefined)
    throw new Error(`measureSgemmGflops: the native kernels are not available: ${nativeLoadError}`);
  return native.sgemmGflops(M, N, K, reps);
}

/** Changes the thread count at run time (no-op without the addon). */
export function setNativeThreads(threads: number): void {
  native?.setNumThreads(threads);
}
