import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint, saveCheckpoint } from '@urgate/contract';
import { describe, expect, it } from 'vitest';
import {
  initLayerParams,
  initStackParams,
  runLayerReference,
  runStack,
  stackParamsFromTensors,
  stackParamsToTensors,
  zeroState,
} from '../src/index.js';

const cfg = {
  core: 'lstm' as const,
  mechanism: 'UR-' as const,
  inputSize: 3,
  hiddenSize: 5,
  numLayers: 3,
  fixedGateOffset: true,
};

describe('stacked layers', () => {
  it('layer l > 0 reads the previous layer h; layer l is initialised from seed + l', () => {
    const params = initStackParams(cfg, 10);
    expect(params.map((p) => p.W.shape)).toEqual([
      [8, 20],
      [10, 20],
      [10, 20],
    ]);
    const deeper = { ...cfg, inputSize: 5 };
    expect(params[2].W.dataSync()).toEqual(initLayerParams(deeper, 12).W.dataSync());

    const xs = tf.randomNormal([4, 2, 3], 0, 1, 'float32', 1) as tf.Tensor3D;
    const states0 = params.map(() => zeroState(cfg, 2));
    const reset = tf.tensor2d([
      [0, 0],
      [0, 1],
      [0, 0],
      [1, 0],
    ]);
    const out = runStack(cfg, params, xs, states0, { reset });
    let input = xs;
    params.forEach((p, l) => {
      const layer = runLayerReference(l === 0 ? cfg : deeper, p, input, states0[l], { reset });
      expect(out.states[l].h.dataSync()).toEqual(layer.state.h.dataSync());
      input = layer.outputs;
    });
    expect(out.outputs.dataSync()).toEqual(input.dataSync());
  });

  it('saves under layers.<l>.W / b / bOffset and loads back', async () => {
    const params = initStackParams(cfg, 2);
    const tensors = await stackParamsToTensors(params);
    expect(Object.keys(tensors)).toEqual(
      ['0', '1', '2'].flatMap((l) => ['W', 'b', 'bOffset'].map((n) => `layers.${l}.${n}`)),
    );
    const path = join(await mkdtemp(join(tmpdir(), 'urgate-stack-')), 'ckpt.safetensors');
    await saveCheckpoint(path, tensors, { model: { ...cfg, kind: 'classifier' } });
    const back = stackParamsFromTensors((await loadCheckpoint(path)).tensors, cfg);
    back.forEach((p, l) => {
      expect(p.W.dataSync()).toEqual(params[l].W.dataSync());
      expect(p.bOffset?.dataSync()).toEqual(params[l].bOffset?.dataSync());
    });
    expect(() => stackParamsFromTensors(tensors, { ...cfg, hiddenSize: 6 })).toThrow(
      /^tensors: layers\.0\.W has shape \[8,20\], expected \[9,24\]/,
    );
    expect(() => runStack(cfg, params.slice(1), tf.zeros([1, 1, 3]) as tf.Tensor3D, [])).toThrow(
      /^params: expected an array with one entry per layer \(3\), got 2/,
    );
  });
});
