import * as ort from 'onnxruntime-node';
import {
  checkToken,
  hasCellState,
  requireGraph,
  type UrgateModel,
  zeroStateTensor,
} from './session.js';

/** Effective forget gates of one text: `values[(l·T + t)·d + j]` for layer l, token t, unit j. */
export interface ForgetGates {
  layers: number;
  steps: number;
  units: number;
  values: Float32Array;
}

/**
 * Runs the gates graph (`<name>.gates.onnx`) over `tokens` from the zero state: the effective forget
 * gate each layer applies to each unit as it reads each token.
 */
export async function forgetGates(
  model: UrgateModel,
  tokens: readonly number[],
): Promise<ForgetGates> {
  requireGraph(model, 'lm-gates', 'forgetGates');
  if (tokens.length === 0) throw new Error('forgetGates: no tokens');
  tokens.forEach((t, k) => {
    checkToken(model, t, () => `position ${k}`, 'forgetGates');
  });
  const { numLayers: L, hiddenSize: d } = model.metadata.model;
  const T = tokens.length;
  const feeds: Record<string, ort.Tensor> = {
    tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [T, 1]),
    h_in: zeroStateTensor(model, 1),
  };
  if (hasCellState(model)) feeds.c_in = zeroStateTensor(model, 1);
  const r = await model.session.run(feeds, ['forget']);
  return { layers: L, steps: T, units: d, values: r.forget.data as Float32Array };
}
