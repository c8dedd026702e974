import { describe, expect, it } from 'vitest';
import { lmTensorShapes } from '../src/index.js';

describe('lmTensorShapes', () => {
  it('lists an untied 2-layer UR-LSTM with layer norm in the fixed order, shapes by hand', () => {
    const shapes = lmTensorShapes({
      core: 'lstm',
      mechanism: 'UR-',
      numLayers: 2,
      vocabSize: 10,
      embeddingSize: 6,
      hiddenSize: 4,
      layerNorm: true,
      tiedEmbeddings: false,
    });
    // LSTM: 4 blocks of d = 4 columns; layer 0 reads E + d = 10 rows, layer 1 d + d = 8.
    expect(shapes).toEqual([
      { name: 'embedding', shape: [10, 6] },
      { name: 'layers.0.W', shape: [10, 16] },
      { name: 'layers.0.b', shape: [16] },
      { name: 'layers.1.W', shape: [8, 16] },
      { name: 'layers.1.b', shape: [16] },
      { name: 'norm.gamma', shape: [4] },
      { name: 'norm.beta', shape: [4] },
      { name: 'output.W', shape: [4, 10] },
      { name: 'output.b', shape: [10] },
    ]);
  });

  it('gives a tied OM-GRU its master blocks (d / C wide) and no output.W', () => {
    const shapes = lmTensorShapes({
      core: 'gru',
      mechanism: 'OM-',
      numLayers: 1,
      vocabSize: 7,
      embeddingSize: 8,
      hiddenSize: 8,
      layerNorm: false,
      tiedEmbeddings: true,
      downsize: 4,
    });
    // GRU f s u (3 x 8) + mf mi (2 x 8 / 4) = 28 columns.
    expect(shapes).toEqual([
      { name: 'embedding', shape: [7, 8] },
      { name: 'layers.0.W', shape: [16, 28] },
      { name: 'layers.0.b', shape: [28] },
      { name: 'output.b', shape: [7] },
    ]);
  });
});
