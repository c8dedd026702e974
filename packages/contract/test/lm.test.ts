import { describe, expect, it } from 'vitest';
import { checkAdaptiveSoftmax, lmTensorShapes } from '../src/index.js';

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

  it('replaces output.W/b by the adaptive softmax: untied with its shortlist, tied without', () => {
    const arch = {
      core: 'lstm' as const,
      mechanism: '-' as const,
      numLayers: 1,
      vocabSize: 100,
      embeddingSize: 16,
      hiddenSize: 16,
      layerNorm: false,
      adaptiveSoftmax: { cutoffs: [20, 60], tailDiv: 2 },
    };
    // head 20 + 2 clusters; tails of 16 / 2 = 8 and 16 / 4 = 4 units over 40 words each
    const head = [
      { name: 'adaptive.head.clusters', shape: [16, 2] },
      { name: 'adaptive.head.b', shape: [22] },
      { name: 'adaptive.tail.0.proj', shape: [16, 8] },
      { name: 'adaptive.tail.0.out', shape: [8, 40] },
      { name: 'adaptive.tail.1.proj', shape: [16, 4] },
      { name: 'adaptive.tail.1.out', shape: [4, 40] },
    ];
    const stack = [
      { name: 'embedding', shape: [100, 16] },
      { name: 'layers.0.W', shape: [32, 64] },
      { name: 'layers.0.b', shape: [64] },
    ];
    expect(lmTensorShapes({ ...arch, tiedEmbeddings: true })).toEqual([...stack, ...head]);
    expect(lmTensorShapes({ ...arch, tiedEmbeddings: false })).toEqual([
      ...stack,
      { name: 'adaptive.head.shortlist', shape: [16, 20] },
      ...head,
    ]);
  });

  it('refuses bad adaptive-softmax settings in one line naming the field', () => {
    expect(() => checkAdaptiveSoftmax({ cutoffs: [20, 10], tailDiv: 4 }, 100, 16)).toThrow(
      'adaptiveSoftmax.cutoffs: expected strictly increasing integers in (0, 100) (the vocabulary size), got 20,10',
    );
    expect(() => checkAdaptiveSoftmax({ cutoffs: [20, 100], tailDiv: 4 }, 100, 16)).toThrow(
      /^adaptiveSoftmax\.cutoffs: .* got 20,100$/,
    );
    expect(() => checkAdaptiveSoftmax({ cutoffs: [], tailDiv: 4 }, 100, 16)).toThrow(
      /^adaptiveSoftmax\.cutoffs/,
    );
    expect(() => checkAdaptiveSoftmax({ cutoffs: [10, 20, 30], tailDiv: 4 }, 100, 16)).toThrow(
      "adaptiveSoftmax.tailDiv: cluster 2's projection has floor(16 / 4^3) = 0 units: use a smaller tailDiv or fewer cutoffs",
    );
  });
});
