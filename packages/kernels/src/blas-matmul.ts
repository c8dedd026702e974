// Replaces the tfjs cpu backend's BatchMatMul kernel by OpenBLAS sgemm.
// Cases it does not handle (non-float32 inputs, batch shapes that broadcast
// other than "equal" or "one side is 1") go to the kernel it replaced.
import * as tf from '@tensorflow/tfjs';
import { requireNative } from './native.js';

type KernelArgs = Parameters<tf.KernelFunc>[0];
interface CpuBackend {
  readSync(dataId: object): unknown;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

let replaced: tf.KernelConfig | undefined;

function product(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function blasBatchMatMul(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const addon = requireNative('BatchMatMul');
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const backend = args.backend as unknown as CpuBackend;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const fallback = () => (replaced as tf.KernelConfig).kernelFunc(args);
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || ra < 2 || rb < 2) return fallback();
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  const batchA = product(outerA);
  const batchB = product(outerB);
  const batch = product(outer);
  if (!((batchA === batch || batchA === 1) && (batchB === batch || batchB === 1)))
    return fallback();
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const kB = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  if (K !== kB)
    throw new RangeError(
      `matMul: inner dimensions differ (${K} vs ${kB}) for shapes [${a.shape}] and [${b.shape}]`,
    );
  const av = backend.readSync(a.dataId);
  const bv = backend.readSync(b.dataId);
  if (!(av instanceof Float32Array) || !(bv instanceof Float32Array)) return fallback();
  const out = addon.matmul(av, bv, batchA, batchB, M, N, K, transposeA, transposeB);
  return backend.makeTensorInfo([...outer, M, N], 'float32', out);
}

/** Installs the BLAS BatchMatMul into the cpu backend (idempotent). */
export function registerBlasMatMul(): void {
  if (replaced !== undefined) return;
  const original = tf.getKernel('BatchMatMul', 'cpu');
  if (original === undefined)
    throw new Error('BatchMatMul: the tfjs cpu backend kernel is not registered');
  replaced = original;
  tf.unregisterKernel('BatchMatMul', 'cpu');
  tf.registerKernel({ ...original, kernelFunc: blasBatchMatMul });
}

/** Puts the cpu backend's own BatchMatMul back. */
export function unregisterBlasMatMul(): void {
  if (replaced === undefined) return;
  tf.unregisterKernel('BatchMatMul', 'cpu');
  tf.registerKernel(replaced);
  replaced = undefined;
}
