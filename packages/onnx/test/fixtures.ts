import { initLayerParams } from '@urgate/cells';
import { type Core, type LmArchitecture, type Mechanism, saveCheckpoint } from '@urgate/contract';
import { SeededRandom } from '@urgate/random';

export type Tensors = Record<string, { shape: number[]; data: Float32Array }>;

/** A language model's architecture with the settings every fixture gives. */
export interface TinyLm extends LmArchitecture {
  downsize: number;
  fixedGateOffset: boolean;
  zoneout: { c: number; h: number } | null;
}

export interface TinyClassifier {
  core: Core;
  mechanism: Mechanism;
  numLayers: number;
  inputSize: number;
  hiddenSize: number;
  downsize: number;
  numClasses: number;
  zoneout: { c: number; h: number } | null;
}

export interface Checkpoint {
  tensors: Tensors;
  meta: { model: Record<string, unknown>; tokenizer?: unknown; training?: unknown };
}

function random(
  rng: SeededRandom,
  shape: number[],
  scale = 1,
  center = 0,
): { shape: number[]; data: Float32Array } {
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    shape,
    data: Float32Array.from({ length: n }, () => center + scale * rng.uniform(-1, 1)),
  };
}

/**
 * The layers of a stack whose first layer reads `first.inputSize` features (layer l from seed + l):
 * parameters from cells' initialiser, with the biases perturbed so that no gate sits at its init.
 */
function stackTensors(
  tensors: Tensors,
  rng: SeededRandom,
  first: Parameters<typeof initLayerParams>[0],
  numLayers: number,
  seed: number,
): void {
  for (let l = 0; l < numLayers; l++) {
    const inputSize = l === 0 ? first.inputSize : first.hiddenSize;
    const p = initLayerParams({ ...first, inputSize }, seed + l);
    const W = p.W.dataSync() as Float32Array;
    const b = (p.b.dataSync() as Float32Array).map((v) => v + rng.uniform(-0.5, 0.5));
    tensors[`layers.${l}.W`] = { shape: p.W.shape, data: W.map((v) => 3 * v) };
    tensors[`layers.${l}.b`] = { shape: p.b.shape, data: b };
    if (p.bOffset)
      tensors[`layers.${l}.bOffset`] = {
        shape: p.bOffset.shape,
        data: p.bOffset.dataSync() as Float32Array,
      };
  }
}

export function lmCheckpoint(m: TinyLm, seed: number): Checkpoint {
  const rng = new SeededRandom(seed);
  const { vocabSize: V, embeddingSize: E, hiddenSize: d } = m;
  const tensors: Tensors = { embedding: random(rng, [V, E]) };
  stackTensors(
    tensors,
    rng,
    {
      core: m.core,
      mechanism: m.mechanism,
      inputSize: E,
      hiddenSize: d,
      downsize: m.downsize,
      fixedGateOffset: m.fixedGateOffset,
    },
    m.numLayers,
    seed,
  );
  if (m.layerNorm) {
    tensors['norm.gamma'] = random(rng, [d], 0.5, 1);
    tensors['norm.beta'] = random(rng, [d], 0.5);
  }
  if (!m.tiedEmbeddings) tensors['output.W'] = random(rng, [d, V]);
  tensors['output.b'] = random(rng, [V], 0.5);
  return {
    tensors,
    meta: {
      model: { kind: 'lm', ...m },
      tokenizer: { type: 'word', vocabulary: 'vocab.txt' },
      training: { seed },
    },
  };
}

export function classifierCheckpoint(m: TinyClassifier, seed: number): Checkpoint {
  const rng = new SeededRandom(seed);
  const d = m.hiddenSize;
  const tensors: Tensors = {};
  stackTensors(
    tensors,
    rng,
    {
      core: m.core,
      mechanism: m.mechanism,
      inputSize: m.inputSize,
      hiddenSize: d,
      downsize: m.downsize,
    },
    m.numLayers,
    seed,
  );
  tensors['head.W1'] = random(rng, [d, 256], 0.3);
  tensors['head.b1'] = random(rng, [256], 0.3);
  tensors['head.W2'] = random(rng, [256, m.numClasses], 0.3);
  tensors['head.b2'] = random(rng, [m.numClasses], 0.3);
  return { tensors, meta: { model: { kind: 'classifier', ...m } } };
}

export async function writeCheckpoint(path: string, ckpt: Checkpoint): Promise<void> {
  await saveCheckpoint(path, ckpt.tensors, ckpt.meta);
}
