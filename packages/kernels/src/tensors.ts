// Tensor plumbing the native ops share: checking an argument's shape and dtype, reading a
// tensor's float32 values without a copy, and taking steps of a time-major tensor with a
// gradient that is one typed-array copy.
import * as tf from '@tensorflow/tfjs';

/** A float32 tf.Tensor of exactly `shape`, or a TypeError/RangeError naming `name`. */
export function expectShape(t: unknown, shape: number[], name: string): void {
  if (!(t instanceof tf.Tensor))
    throw new TypeError(
      `${name}: expected a tf.Tensor of shape [${shape}], got ${t === undefined ? 'undefined' : typeof t}`,
    );
  if (t.shape.length !== shape.length || t.shape.some((s: number, i: number) => s !== shape[i]))
    throw new RangeError(`${name}: expected shape [${shape}], got [${t.shape}]`);
  if (t.dtype !== 'float32') throw new TypeError(`${name}: expected dtype float32, got ${t.dtype}`);
}

/** float32 values of a tensor: the backend's own array when it already is one. */
export function floats(t: tf.Tensor): Float32Array {
  const v = t.dataSync();
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

/**
 * x[start .. start+count) along axis 0 of a [R, B, d] tensor. tf.slice would do,
 * but its gradient is a tfjs pad over the whole [R, B, d] shape, which on the
 * cpu backend costs more than the native BPTT itself; here the forward is a
 * view and the gradient one typed-array copy.
 */
export function rows(x: tf.Tensor3D, start: number, count: number): tf.Tensor3D {
  const [R, B, d] = x.shape;
  const block = B * d;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const v = floats(args[0] as tf.Tensor);
    return {
      // a view: tfjs tensors are immutable, so sharing the buffer is safe
      value: tf.tensor3d(v.subarray(start * block, (start + count) * block), [count, B, d]),
      gradFunc: (dy: tf.Tensor) => {
        const g = new Float32Array(R * block);
        g.set(floats(dy), start * block);
        return tf.tensor3d(g, [R, B, d]);
      },
    };
  });
  return op(x) as tf.Tensor3D;
}
