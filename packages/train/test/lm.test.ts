import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { layerStep, type State, zeroState } from '@urgate/cells';
import { lmTensorShapes, stackLayerConfigs } from '@urgate/contract';
import { arenaView, nativeAvailable } from '@urgate/kernels/native';
import { exportCheckpoint } from '@urgate/onnx';
import { prepareCorpus } from '@urgate/wikitext';
import { describe, expect, it } from 'vitest';
import { resolveLmConfig } from '../src/lm/config.js';
import { cacheTokenizer, loadLmSplit } from '../src/lm/data.js';
import { evaluateLm } from '../src/lm/evaluate.js';
import { loadLmCheckpoint } from '../src/lm/load.js';
import { createLanguageModel, type LanguageModel, type LmArchitecture } from '../src/lm/model.js';
import { lmForward, type ReferenceLm } from '../src/lm/reference.js';
import { LM_FILES, trainLm } from '../src/lm/trainer.js';
import { onnxTestNll } from './onnx-scoring.js';

// A tiny WikiText-format corpus: two articles per split, a repetitive text to overfit.
const SENTENCE = 'the cat sat on the mat . the dog ran to the cat .';
function article(title: string, lines: number): string {
  const body = Array.from({ length: lines }, () => ` ${SENTENCE} \n \n`).join('');
  return ` \n = ${title} = \n \n${body}`;
}
async function tinyCorpus(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'urgate-lm-'));
  writeFileSync(join(dir, 'wiki.train.tokens'), article('One', 30) + article('Two', 30));
  writeFileSync(join(dir, 'wiki.valid.tokens'), article('Three', 3) + article('Four', 2));
  writeFileSync(join(dir, 'wiki.test.tokens'), article('Five', 2) + article('Six', 3));
  await prepareCorpus({ dataDir: dir, cacheDir: join(dir, 'cache'), tokenizer: { kind: 'word' } });
  return dir;
}

describe.skipIf(!nativeAvailable)('createLanguageModel', () => {
  it("creates the spec's LM tensors, in the spec's order and shapes", async () => {
    for (const [tiedEmbeddings, layerNorm, numLayers] of [
      [true, false, 1],
      [false, true, 2],
    ] as const) {
      const arch = {
        core: 'lstm',
        mechanism: 'UM-',
        numLayers,
        vocabSize: 11,
        embeddingSize: 8,
        hiddenSize: 8,
        layerNorm,
        tiedEmbeddings,
        downsize: 4,
      } as const;
      for (const engine of ['native', 'reference'] as const) {
        const model = await createLanguageModel(arch, 1, engine);
        expect(model.tensors.map(({ name, shape }) => ({ name, shape }))).toEqual(
          lmTensorShapes(arch),
        );
        let offset = 0;
        for (const t of model.tensors) {
          expect(t.offset).toBe(offset);
          offset += t.size;
        }
        expect(model.params.length).toBe(offset);
      }
    }
  });
});

function smallConfig(steps: number, extra = {}) {
  return resolveLmConfig({
    hiddenSize: 12,
    bptt: 8,
    batchSize: 4,
    steps,
    dropout: 0,
    evalEvery: 1000,
    checkpointEvery: 1000,
    ...extra,
  });
}

/** Independent truth: cells' layerStep one token at a time, logits and log-softmax in float64. */
function referenceTotalNll(model: LanguageModel, stream: number[], resetAt: Set<number>): number {
  const { arch } = model;
  const layers = stackLayerConfigs({
    ...arch,
    inputSize: arch.embeddingSize,
    ...(arch.downsize !== undefined ? { downsize: arch.downsize } : {}),
  });
  const params = Object.fromEntries(
    model.tensors.map((t) => [t.name, tf.tensor(arenaView(model, t.name).slice(), t.shape)]),
  );
  const E = params.embedding.arraySync() as number[][];
  const outW = arch.tiedEmbeddings ? null : (params['output.W'].arraySync() as number[][]);
  const outB = params['output.b'].arraySync() as number[];
  let states: State[] = layers.map((cfg) => zeroState(cfg, 1));
  let total = 0;
  for (let i = 0; i + 1 < stream.length; i++) {
    if (resetAt.has(i)) states = layers.map((cfg) => zeroState(cfg, 1));
    let x = tf.tensor2d([E[stream[i]]]);
    states = layers.map((cfg, l) => {
      const s = layerStep(
        cfg,
        {
          W: params[`layers.${l}.W`] as unknown as tf.Tensor2D,
          b: params[`layers.${l}.b`] as unknown as tf.Tensor1D,
        },
        x,
        states[l],
      );
      x = s.h;
      return s;
    });
    const h = Array.from(x.dataSync());
    const logits = outB.map(
      (b, v) => b + h.reduce((acc, hk, k) => acc + hk * (outW ? outW[k][v] : E[v][k]), 0),
    );
    const max = Math.max(...logits);
    const lse = max + Math.log(logits.reduce((acc, z) => acc + Math.exp(z - max), 0));
    total += lse - logits[stream[i + 1]];
  }
  return total;
}

describe.skipIf(!nativeAvailable)('language model', () => {
  it('word-level perplexity of the trainer equals a direct per-token computation', async () => {
    const dir = await tinyCorpus();
    const cache = join(dir, 'cache');
    const out = join(dir, 'run');
    const result = await trainLm(
      smallConfig(3, { tiedEmbeddings: false, embeddingSize: 6, numLayers: 2 }),
      {
        cacheDir: cache,
        outDir: out,
        progress: null,
      },
    );
    const { model } = await loadLmCheckpoint(join(out, LM_FILES.model));
    const tokenizer = await cacheTokenizer(cache);
    const valid = await loadLmSplit(cache, 'valid', tokenizer);
    // Two articles: the default scores the stream's three reset segments on three rows at once.
    const { report: ours } = await evaluateLm(model, valid, { eosId: tokenizer.eosId });
    expect(ours.wordPerplexity).toBeCloseTo(result.valid?.wordPerplexity as number, 6);
    const { report: oneRow } = await evaluateLm(model, valid, { eosId: tokenizer.eosId, rows: 1 });
    expect(Math.abs(oneRow.totalNll - ours.totalNll) / oneRow.totalNll).toBeLessThan(1e-6);
    const stream = [tokenizer.eosId, ...valid.ids];
    const total = referenceTotalNll(
      model,
      stream,
      new Set([...valid.articleStarts].map((a) => a + 1)),
    );
    const direct = Math.exp(total / valid.manifest.counts.words);
    expect(Math.abs(ours.wordPerplexity - direct) / direct).toBeLessThan(1e-4);
  });

  it('a reset row equals a fresh zero state', async () => {
    const model = (await createLanguageModel(
      {
        core: 'lstm',
        mechanism: 'UR-',
        numLayers: 2,
        vocabSize: 9,
        embeddingSize: 5,
        hiddenSize: 5,
        layerNorm: true,
        tiedEmbeddings: true,
      },
      3,
      'reference',
    )) as ReferenceLm;
    const { arch } = model;
    const params = model.paramTensors();
    const zero = (B: number) =>
      model.zeroState(B).map((s) => ({
        h: tf.tensor2d(s.h, [B, arch.hiddenSize]),
        ...(s.c ? { c: tf.tensor2d(s.c, [B, arch.hiddenSize]) } : {}),
      }));
    const T = 4;
    const B = 2;
    const inputs = Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    tf.tidy(() => {
      // The window over `inputs` from `state`, without dropout.
      const forward = (state: Parameters<typeof lmForward>[3], resets = new Uint8Array(T * B)) =>
        lmForward(arch, params, { steps: T, batch: B, inputs, resets }, state, null);
      const logits = (...window: Parameters<typeof forward>) =>
        forward(...window).logits.arraySync() as number[][];
      const warm = forward(zero(B)).state;
      const resets = new Uint8Array(T * B);
      resets[0 * B + 1] = 1; // row 1 restarts at t = 0
      const a = logits(warm, resets);
      const b = logits(zero(B));
      const c = logits(warm);
      for (let t = 0; t < T; t++) {
        a[t * B + 1].forEach((v, k) => {
          expect(v).toBeCloseTo(b[t * B + 1][k], 5);
        });
        // row 0 keeps its state
        a[t * B].forEach((v, k) => {
          expect(v).toBeCloseTo(c[t * B][k], 5);
        });
      }
      expect(Math.abs(a[1][0] - c[1][0])).toBeGreaterThan(1e-6); // the warm state mattered
    });
  });

  it('tied embeddings are one tensor whose gradient sums the input and output ends', async () => {
    const arch: LmArchitecture = {
      core: 'lstm',
      mechanism: 'UR-',
      numLayers: 1,
      vocabSize: 7,
      embeddingSize: 4,
      hiddenSize: 4,
      layerNorm: false,
      tiedEmbeddings: true,
    };
    const model = await createLanguageModel(arch, 5);
    expect(model.tensors.map((t) => t.name)).not.toContain('output.W');
    const window = {
      steps: 4,
      batch: 1,
      inputs: Int32Array.from([1, 2, 3, 1]),
      targets: Int32Array.from([2, 3, 1, 6]), // token 6 is only a target, token 3 both
      resets: new Uint8Array(4),
    };
    model.trainStep(window, model.zeroState(1), null);
    const g = arenaView(model, 'embedding', 'grads').slice();
    const emb = arenaView(model, 'embedding');
    const meanNll = () => {
      const { nll } = model.score(window, model.zeroState(1));
      return nll.reduce((a, b) => a + b, 0) / nll.length;
    };
    const lossAt = (at: number, delta: number) => {
      const was = emb[at];
      emb[at] = was + delta;
      const v = meanNll();
      emb[at] = was;
      return v;
    };
    for (const [row, k] of [
      [3, 0],
      [6, 1],
      [1, 2],
    ]) {
      const eps = 1e-2;
      const at = row * arch.embeddingSize + k;
      const fd = (lossAt(at, eps) - lossAt(at, -eps)) / (2 * eps);
      expect(Math.abs(g[at] - fd)).toBeLessThan(2e-3 + 2e-2 * Math.abs(fd));
    }
    expect(Math.abs(g[6 * arch.embeddingSize + 1])).toBeGreaterThan(1e-5); // output end reaches a row never read as input
  });

  it('a tiny LM overfits a tiny corpus', async () => {
    const dir = await tinyCorpus();
    const result = await trainLm(smallConfig(150, { hiddenSize: 24, lr: 1e-2, clip: 1 }), {
      cacheDir: join(dir, 'cache'),
      outDir: join(dir, 'run'),
      progress: null,
      test: false,
    });
    const V = (await cacheTokenizer(join(dir, 'cache'))).vocabSize;
    // Valid is the same text: the per-token NLL ends well below the uniform log V.
    expect(result.valid?.nllPerToken as number).toBeLessThan(0.25 * Math.log(V));
  });

  it('refuses a batch and window that do not fit memory before batching or allocating', async () => {
    const dir = await tinyCorpus();
    const huge = smallConfig(1, { batchSize: 10 ** 6, bptt: 10 ** 4 });
    await expect(
      trainLm(huge, { cacheDir: join(dir, 'cache'), outDir: join(dir, 'run'), progress: null }),
    ).rejects.toThrow(/^batchSize: batchSize 1000000 x bptt 10000 needs about [\d.e+]+ bytes/);
  });

  it('checkpoint -> ONNX -> onnxruntime NLL equals the trainer evaluation', async () => {
    const dir = await tinyCorpus();
    const cache = join(dir, 'cache');
    const out = join(dir, 'run');
    const result = await trainLm(smallConfig(4, { layerNorm: true }), {
      cacheDir: cache,
      outDir: out,
      progress: null,
    });
    const files = await exportCheckpoint(join(out, LM_FILES.model), join(dir, 'onnx'), {
      name: 'lm',
    });
    const nll = await onnxTestNll(cache, files.sequence);
    const ours = result.test?.totalNll as number;
    expect(Math.abs(nll - ours) / ours).toBeLessThan(1e-4);
  });
});
