// Replaces the tfjs cpu backend's BatchMatMul and _FusedMatMul kernels (the
// latter is what tf.fused.matMul and tfjs-layers' Dense use; the cpu backend's
// own version calls its matmul directly, past the registry) by OpenBLAS sgemm.
// Cases not handled here (non-float32 inputs, batch shapes that broadcast
// other than "equal" or "one side is 1", fused activations other than linear
// and relu, biases other than one value per output column) go to the kernel
// that was replaced.
import * as tf from '@tensorflow/tfjs';
import { requireNative } from './native.js';

type KernelArgs = Parameters<tf.KernelFunc>[0];
interface CpuBackend {
  readSync(dataId: object): unknown;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

const replaced = new Map<string, tf.KernelConfig>();

function product(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function fallback(name: string, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  return (replaced.get(name) as tf.KernelConfig).kernelFunc(args);
}

/** op(a)·op(b) by sgemm, or undefined for the cases left to tfjs. */
function blasProduct(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  backend: CpuBackend,
): { values: Float32Array; shape: number[] } | undefined {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || ra < 2 || rb < 2) return undefined;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  const batchA = product(outerA);
  const batchB = product(outerB);
  const batch = product(outer);
  if (!((batchA === batch || batchA === 1) && (batchB === batch || batchB === 1))) return undefined;
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const kB = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  if (K !== kB) {
    throw new RangeError(
      `matMul: inner dimensions differ (${K} vs ${kB}) for shapes [${a.shape}] and [${b.shape}]`,
    );
  }
  const av = backend.readSync(a.dataId);
  const bv = backend.readSync(b.dataId);
  if (!(av instanceof Float32Array) || !(bv instanceof Float32Array)) return undefined;
  const values = requireNative('BatchMatMul').matmul(
    av,
    bv,
    batchA,
    batchB,
    M,
    N,
    K,
    transposeA,
    transposeB,
  );
  return { values, shape: [...outer, M, N] };
}

function blasBatchMatMul(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const backend = args.backend as unknown as CpuBackend;
  const r = blasProduct(a, b, transposeA, transposeB, backend);
  if (r === undefined) return fallback('BatchMatMul', args);
  return backend.makeTensorInfo(r.shape, 'float32', r.values);
}

function blasFusedMatMul(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo>;
  const { transposeA, transposeB, activation } = args.attrs as {
    transposeA: boolean;
    transposeB: boolean;
    activation: string;
  };
  const backend = args.backend as unknown as CpuBackend;
  if (preluActivationWeights !== undefined) return fallback('_FusedMatMul', args);
  if (activation !== 'linear' && activation !== 'relu') return fallback('_FusedMatMul', args);
  const N = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  if (bias !== undefined && (bias.dtype !== 'float32' || product(bias.shape) !== N)) {
    return fallback('_FusedMatMul', args);
  }
  const biasValues = bias === undefined ? undefined : backend.readSync(bias.dataId);
  if (biasValues !== undefined && !(biasValues instanceof Float32Array)) {
    return fallback('_FusedMatMul', args);
  }
  const r = blasProduct(a, b, transposeA, transposeB, backend);
  if (r === undefined) return fallback('_FusedMatMul', args);
  const out = r.values;
  if (biasValues !== undefined) {
    for (let row = 0; row < out.length; row += N) {
      for (let j = 0; j < N; j++) out[row + j] += biasValues[j];
    }
  }
  if (activation === 'relu') {
    for (let i = 0; i < out.length; i++) if (out[i] < 0) out[i] = 0;
  }
  return backend.makeTensorInfo(r.shape, 'float32', out);
}

const KERNELS: Record<string, tf.KernelFunc> = {
  BatchMatMul: blasBatchMatMul,
  _FusedMatMul: blasFusedMatMul,
};

/** Installs the BLAS BatchMatMul and _FusedMatMul into the cpu backend (idempotent). */
export function registerBlasMatMul(): void {
  for (const [name, kernelFunc] of Object.entries(KERNELS)) {
    if (replaced.has(name)) continue;
    const original = tf.getKernel(name, 'cpu');
    if (original === undefined)
      throw new Error(`${name}: the tfjs cpu backend kernel is not registered`);
    replaced.set(name, original);
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({ ...original, kernelFunc });
  }
}

/** Puts the cpu backend's own kernels back. */
export function unregisterBlasMatMul(): void {
  for (const [name, original] of replaced) {
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel(original);
  }
  replaced.clear();
}
