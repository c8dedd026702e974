import * as tf from '@tensorflow/tfjs';
import { FusedAdam } from '@urgate/kernels';
import { releaseNativeMemory } from './native-memory.js';

/**
 * A model of tf.Variables on the training loop (the task and l2e models): the variables behind
 * arenas (FusedAdam), and each step's loss differentiated by tfjs with the gradients copied into
 * the gradient arena.
 */
export class VariableTraining {
  readonly model: FusedAdam;
  private readonly vars: tf.Variable[];

  /** gcEvery: free the fused layer kernels' tapes every this many steps (a collection costs a few ms). */
  constructor(
    params: Record<string, tf.Variable>,
    options: { lr: number; clip: number },
    private readonly gcEvery: number,
  ) {
    this.vars = Object.values(params);
    this.model = new FusedAdam(params, { lr: options.lr, clipNorm: options.clip });
  }

  /** The loss of `loss()` (run under tf.variableGrads); its gradients go to the arena. */
  async gradients(step: number, loss: () => tf.Scalar): Promise<number> {
    const { value, grads } = tf.variableGrads(loss, this.vars);
    const out = value.dataSync()[0];
    this.model.setGradients(this.vars.map((v) => grads[v.name]));
    tf.dispose([value, grads]);
    if (step % this.gcEvery === 0) await releaseNativeMemory();
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
