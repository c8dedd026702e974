import * as tf from '@tensorflow/tfjs';
import { FusedAdam, releaseTapes } from '@urgate/kernels';

/**
 * A model of tf.Variables on the training loop (the task and l2e models): the variables behind
 * arenas (FusedAdam), and each step's loss differentiated by tfjs with the gradients copied into
 * the gradient arena.
 */
export class VariableTraining {
  readonly model: FusedAdam;
  private readonly vars: tf.Variable[];

  constructor(params: Record<string, tf.Variable>, options: { lr: number; clip: number }) {
    this.vars = Object.values(params);
    this.model = new FusedAdam(params, { lr: options.lr, clipNorm: options.clip });
  }

  /** The loss of `loss()` (run under tf.variableGrads); its gradients go to the arena. */
  gradients(loss: () => tf.Scalar): number {
    const { value, grads } = tf.variableGrads(loss, this.vars);
    const out = value.dataSync()[0];
    this.model.setGradients(this.vars.map((v) => grads[v.name]));
    tf.dispose([value, grads]);
    releaseTapes(); // native forward passes whose gradient tfjs did not need
    return out;
  }
}

/** Variable values as checkpoint tensors (copies, so the file never aliases a variable). */
export function variableTensors(
  params: Record<string, tf.Variable>,
): Record<string, { shape: number[]; data: Float32Array }> {
  return Object.fromEntries(
    Object.entries(params).map(([name, v]) => [
      name,
      { shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) },
    ]),
  );
}
