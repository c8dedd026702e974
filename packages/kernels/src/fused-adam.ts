// Adam over a set of tfjs variables in one native call, with global-norm
// gradient clipping. On the cpu backend the variables' own float32 buffers are
// updated in place; elsewhere the new values are assigned.
import * as tf from '@tensorflow/tfjs';
import { requireNative } from './native.js';

export interface FusedAdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Clip the global gradient norm to this value (<= 0 or absent: no clipping). */
  clipNorm?: number;
}

interface CpuData {
  data: { get(dataId: object): { values?: unknown } };
}

export class FusedAdam {
  private readonly vars: tf.Variable[];
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private readonly options: Required<FusedAdamOptions>;
  private steps = 0;

  constructor(vars: tf.Variable[], opts: FusedAdamOptions) {
    requireNative('FusedAdam');
    if (
      !Array.isArray(vars) ||
      vars.some((v) => !(v instanceof tf.Variable) || v.dtype !== 'float32')
    ) {
      throw new TypeError('vars: expected an array of float32 tf.Variable');
    }
    if (typeof opts?.lr !== 'number' || !(opts.lr > 0))
      throw new RangeError(`opts.lr: expected a positive number, got ${opts?.lr}`);
    this.options = { beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 0, ...opts };
    // In-place updates must not show through tensors that share a variable's
    // buffer (tf.variable(t) shares t's): give each variable a private copy.
    this.vars = vars;
    for (const v of vars) {
      const own = tf.tensor(Float32Array.from(v.dataSync()), v.shape, 'float32');
      v.assign(own);
      own.dispose();
    }
    this.m = vars.map((v) => new Float32Array(v.size));
    this.v = vars.map((v) => new Float32Array(v.size));
  }

  get iterations(): number {
    return this.steps;
  }

  /** grads: one per variable, as an array in the constructor's order or a map by variable name. */
  step(grads: tf.Tensor[] | tf.NamedTensorMap): { gradNorm: number } {
    const addon = requireNative('FusedAdam');
    const g = this.vars.map((v, i) => {
      const t = Array.isArray(grads) ? grads[i] : grads[v.name];
      const label = Array.isArray(grads) ? `grads[${i}]` : `grads['${v.name}']`;
      if (!(t instanceof tf.Tensor))
        throw new TypeError(`${label}: expected a tf.Tensor for variable '${v.name}'`);
      if (t.size !== v.size || t.dtype !== 'float32') {
        throw new RangeError(
          `${label}: expected a float32 tensor of shape [${v.shape}], got ${t.dtype} [${t.shape}]`,
        );
      }
      const values = t.dataSync();
      return values instanceof Float32Array ? values : Float32Array.from(values);
    });
    const inPlace = tf.getBackend() === 'cpu';
    const params = this.vars.map((v) =>
      inPlace ? this.ownBuffer(v) : Float32Array.from(v.dataSync()),
    );
    this.steps += 1;
    const o = this.options;
    const gradNorm = addon.adamStep(params, g, this.m, this.v, {
      lr: o.lr,
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.eps,
      clipNorm: o.clipNorm,
      step: this.steps,
    });
    if (!inPlace) {
      for (const [i, v] of this.vars.entries()) v.assign(tf.tensor(params[i], v.shape));
    }
    return { gradNorm };
  }

  private ownBuffer(v: tf.Variable): Float32Array {
    const backend = tf.backend() as unknown as CpuData;
    const values = backend.data.get(v.dataId).values;
    if (!(values instanceof Float32Array))
      throw new Error(`FusedAdam: variable '${v.name}' has no float32 buffer on the cpu backend`);
    return values;
  }
}
