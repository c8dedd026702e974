import * as tf from '@tensorflow/tfjs';
import { FusedAdam } from '@urgate/kernels';

/**
 * A model of tf.Variables on the training loop (the task and l2e models' reference engine): the
 * variables behind arenas (FusedAdam with the TypeScript Adam, so that the reference engine runs
 * without the native addon), and each step's loss differentiated by tfjs with the gradients
 * copied into the gradient arena.
 */
export class VariableTraining {
  readonly model: FusedAdam;
  private readonly vars: tf.Variable[];

  constructor(params: Record<string, tf.Variable>, options: { lr: number; clip: number }) {
    this.vars = Object.values(params);
    this.model = new FusedAdam(params, { lr: options.lr, clipNorm: options.clip }, 'reference');
  }

  /** The loss of `loss()` (run under tf.variableGrads); its gradients go to the arena. */
  gradients(loss: () => tf.Scalar): number {
    const { value, grads } = tf.variableGrads(loss, this.vars);
    const out = value.dataSync()[0];
    this.model.setGradients(this.vars.map((v) => grads[v.name]));
    tf.dispose([value, grads]);
    return out;
  }
}

/** Tensor values as checkpoint tensors (copies, so the file never aliases a variable). */
export function variableTensors(
  params: Record<string, tf.Tensor>,
): Record<string, { shape: number[]; data: Float32Array }> {
  return Object.fromEntries(
    Object.entries(params).map(([name, v]) => [
      name,
      { shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) },
    ]),
  );
}

/**
 * Puts checkpoint tensors into the model's variables, by name: every variable must find a
 * tensor of its shape (`<source>: tensor <name> missing or not of shape [..]` otherwise).
 */
export function assignTensors(
  params: Record<string, tf.Variable>,
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
  source: string,
): void {
  for (const [name, v] of Object.entries(params)) {
    const t = tensors[name];
    if (!t || t.shape.length !== v.shape.length || t.shape.some((s, k) => s !== v.shape[k]))
      throw new Error(`${source}: tensor ${name} missing or not of shape [${v.shape}]`);
    v.assign(tf.tensor(t.data, v.shape));
  }
}
