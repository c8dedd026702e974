import * as ort from 'onnxruntime-node';
import { requireGraph, type UrgateModel } from './session.js';

/**
 * Class logits `[B, K]` (row-major) of a batch of sequences with an exported classifier;
 * `inputs` is `[T, B, channels]`, row-major.
 */
export async function classify(
  model: UrgateModel,
  inputs: Float32Array,
  dims: [number, number, number],
): Promise<Float32Array> {
  requireGraph(model, 'classifier', 'classify');
  const channels = model.metadata.model.inputSize as number;
  const [T, B, C] = dims;
  if (![T, B, C].every((n) => Number.isInteger(n) && n > 0))
    throw new Error(`classify: dims must be positive integers [T, B, channels], got [${dims}]`);
  if (C !== channels)
    throw new Error(`classify: the model reads ${channels} channels per step, got dims [${dims}]`);
  if (inputs.length !== T * B * C)
    throw new Error(
      `classify: inputs has ${inputs.length} values, dims [${dims}] need ${T * B * C}`,
    );
  const r = await model.session.run({ inputs: new ort.Tensor('float32', inputs, dims) });
  return r.logits.data as Float32Array;
}
