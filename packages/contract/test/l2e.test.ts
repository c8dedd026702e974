import { describe, expect, it } from 'vitest';
import {
  initRmcValues,
  l2eConstantShapes,
  l2eTensorShapes,
  resolveRmcConfig,
  stackLayerConfigs,
} from '../src/index.js';

describe('l2eTensorShapes', () => {
  it('lists a 2-layer UR-LSTM over 5 characters and its head in the fixed order, shapes by hand', () => {
    const layers = stackLayerConfigs({
      core: 'lstm',
      mechanism: 'UR-',
      inputSize: 5,
      hiddenSize: 4,
      numLayers: 2,
    });
    const arch = { vocabSize: 5, layers, rmc: null };
    // LSTM: 4 blocks of d = 4 columns; layer 0 reads V + d = 9 rows, layer 1 d + d = 8.
    expect(l2eTensorShapes(arch)).toEqual([
      { name: 'layers.0.W', shape: [9, 16] },
      { name: 'layers.0.b', shape: [16] },
      { name: 'layers.1.W', shape: [8, 16] },
      { name: 'layers.1.b', shape: [16] },
      { name: 'output.W', shape: [4, 5] },
      { name: 'output.b', shape: [5] },
    ]);
    expect(l2eConstantShapes(arch)).toEqual([]);
  });

  it("lists an RMC's trainable tensors, then a head over memSlots · memSize; the gate offset is a constant", () => {
    // D = 2 heads x 3 = 6, F = 2 (2·3 + 3) = 18, gates 'UR-' r, f: 2 x 6 columns.
    const rmc = resolveRmcConfig({
      inputSize: 7,
      memSlots: 2,
      headSize: 3,
      numHeads: 2,
      mechanism: 'UR-',
    });
    const arch = { vocabSize: 7, layers: [] as [], rmc };
    expect(l2eTensorShapes(arch)).toEqual([
      { name: 'input.W', shape: [7, 6] },
      { name: 'input.b', shape: [6] },
      { name: 'blocks.0.qkv.W', shape: [6, 18] },
      { name: 'blocks.0.qkv.b', shape: [18] },
      { name: 'blocks.0.qkvNorm.gamma', shape: [18] },
      { name: 'blocks.0.qkvNorm.beta', shape: [18] },
      { name: 'blocks.0.attentionNorm.gamma', shape: [6] },
      { name: 'blocks.0.attentionNorm.beta', shape: [6] },
      { name: 'blocks.0.mlpNorm.gamma', shape: [6] },
      { name: 'blocks.0.mlpNorm.beta', shape: [6] },
      { name: 'mlp.0.W', shape: [6, 6] },
      { name: 'mlp.0.b', shape: [6] },
      { name: 'mlp.1.W', shape: [6, 6] },
      { name: 'mlp.1.b', shape: [6] },
      { name: 'gate.memory.W', shape: [6, 12] },
      { name: 'gate.memory.b', shape: [12] },
      { name: 'gate.input.W', shape: [6, 12] },
      { name: 'gate.input.b', shape: [12] },
      { name: 'output.W', shape: [12, 7] },
      { name: 'output.b', shape: [7] },
    ]);
    expect(l2eConstantShapes(arch)).toEqual([{ name: 'gate.offset', shape: [12] }]);
    // Every tensor of the layout has an initial value of its shape, constants included.
    const init = initRmcValues(rmc, 1);
    for (const { name, shape } of [...l2eTensorShapes(arch), ...l2eConstantShapes(arch)])
      if (!name.startsWith('output.')) expect(init[name].shape, name).toEqual(shape);
  });
});
