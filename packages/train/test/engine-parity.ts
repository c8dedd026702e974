// What the engine parity tests compare: a model's loss and every parameter's gradient on the
// native engine against the reference engine (pure tfjs with autodiff).
import * as tf from '@tensorflow/tfjs';
import { parityRatio } from '@urgate/test-checks';
import { expect } from 'vitest';

export interface LossAndGrads {
  loss: number;
  grads: Record<string, Float32Array>;
}

/** The loss and every parameter's gradient (copies, by parameter name); disposes the model. */
export function lossAndGrads(
  params: Record<string, tf.Variable>,
  loss: () => tf.Scalar,
): LossAndGrads {
  const vars = Object.values(params);
  const { value, grads } = tf.variableGrads(loss, vars);
  const out = {
    loss: value.dataSync()[0],
    grads: Object.fromEntries(
      Object.entries(params).map(([n, v]) => [n, Float32Array.from(grads[v.name].dataSync())]),
    ),
  };
  tf.dispose([value, grads, vars]);
  return out;
}

/** Loss and every gradient within 1e-5 + 1e-4·|ref|; no reference gradient is trivially zero. */
export function expectEnginesAgree(native: LossAndGrads, ref: LossAndGrads): void {
  expect(parityRatio([native.loss], [ref.loss])).toBeLessThanOrEqual(1);
  expect(Object.keys(native.grads)).toEqual(Object.keys(ref.grads));
  for (const [name, g] of Object.entries(ref.grads)) {
    expect(Math.max(...g.map(Math.abs)), `${name} gradient is not trivially zero`).toBeGreaterThan(
      0,
    );
    expect(parityRatio(native.grads[name], g), name).toBeLessThanOrEqual(1);
  }
}
