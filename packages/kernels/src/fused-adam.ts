// tf.Variables trained through flat arenas (arena.ts): the gradients are copied into the
// gradient arena, Adam with global-norm clipping runs over the arena in one call (natively, or
// its TypeScript twin where the addon is not to be used), and the new values are assigned to the
// variables, through tfjs's public API only.
import * as tf from '@tensorflow/tfjs';
import {
  type AdamImplementation,
  type AdamOptions,
  type ArenaKind,
  type ArenaTensor,
  arenaView,
  type ModelArenas,
  ParamArenas,
} from './arena.js';

export type FusedAdamOptions = AdamOptions;

export class FusedAdam implements ModelArenas {
  private readonly vars: tf.Variable[];
  private readonly arenas: ParamArenas;
  private readonly options: FusedAdamOptions;

  /**
   * vars: an array (tensor names are the variables' names) or a map from checkpoint names, in the
   * arenas' order. Their current values become the parameter arena. adam: who runs Adam
   * ('native' needs the addon; 'reference', the TypeScript twin, does not).
   */
  constructor(
    vars: tf.Variable[] | Record<string, tf.Variable>,
    opts: FusedAdamOptions,
    adam: AdamImplementation = 'native',
  ) {
    const named = Array.isArray(vars)
      ? vars.map((v) => [v?.name, v] as const)
      : Object.entries(vars ?? {});
    if (named.some(([, v]) => !(v instanceof tf.Variable) || v.dtype !== 'float32'))
      throw new TypeError('vars: expected an array or map of float32 tf.Variable');
    if (typeof opts?.lr !== 'number' || !(opts.lr > 0))
      throw new RangeError(`opts.lr: expected a positive number, got ${opts?.lr}`);
    this.options = opts;
    this.vars = named.map(([, v]) => v);
    this.arenas = new ParamArenas(
      named.map(([name, v]) => ({ name, shape: [...v.shape] })),
      adam,
    );
    this.vars.forEach((v, k) => {
      this.view(k, 'params').set(v.dataSync() as Float32Array);
    });
  }

  get tensors(): readonly ArenaTensor[] {
    return this.arenas.tensors;
  }
  get params(): Float32Array {
    return this.arenas.params;
  }
  get grads(): Float32Array {
    return this.arenas.grads;
  }
  get m(): Float32Array {
    return this.arenas.m;
  }
  get v(): Float32Array {
    return this.arenas.v;
  }
  get adamSteps(): number {
    return this.arenas.adamSteps;
  }
  set adamSteps(steps: number) {
    this.arenas.adamSteps = steps;
  }
  get iterations(): number {
    return this.arenas.adamSteps;
  }

  /** grads: one per variable, as an array in the constructor's order or a map by variable name. */
  setGradients(grads: tf.Tensor[] | tf.NamedTensorMap): void {
    this.vars.forEach((v, i) => {
      const t = Array.isArray(grads) ? grads[i] : grads[v.name];
      const label = Array.isArray(grads) ? `grads[${i}]` : `grads['${v.name}']`;
      if (!(t instanceof tf.Tensor))
        throw new TypeError(`${label}: expected a tf.Tensor for variable '${v.name}'`);
      if (t.size !== v.size || t.dtype !== 'float32')
        throw new RangeError(
          `${label}: expected a float32 tensor of shape [${v.shape}], got ${t.dtype} [${t.shape}]`,
        );
      this.view(i, 'grads').set(t.dataSync() as Float32Array);
    });
  }

  /** Adam over the arenas with these options, then the variables take the new values. */
  adamUpdate(options: AdamOptions): number {
    const gradNorm = this.arenas.adamUpdate(options);
    this.assignVariables();
    return gradNorm;
  }

  /** One step with the constructor's options. */
  step(grads: tf.Tensor[] | tf.NamedTensorMap): { gradNorm: number } {
    this.setGradients(grads);
    return { gradNorm: this.adamUpdate(this.options) };
  }

  /** The variables take the parameter arena's values (after a checkpoint's restore). */
  paramsWritten(): void {
    this.assignVariables();
  }

  private assignVariables(): void {
    tf.tidy(() => {
      this.vars.forEach((v, k) => {
        v.assign(tf.tensor(this.view(k, 'params').slice(), v.shape, 'float32'));
      });
    });
  }

  private view(k: number, kind: ArenaKind): Float32Array {
    return arenaView(this.arenas, this.arenas.tensors[k].name, kind);
  }
}
