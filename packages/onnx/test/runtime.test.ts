import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  batchSampler,
  generate,
  openModel,
  prefillRows,
  type RowState,
  sampleToken,
  scoreTokens,
  scoreWindow,
  seededUniform,
  stepRows,
  tokenLogprobs,
  type UrgateModel,
  zeroRowState,
  zeroScoreState,
} from '@urgate/onnx/runtime';
import { SeededRandom } from '@urgate/random';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportCheckpoint } from '../src/index.js';
import { type Checkpoint, lmCheckpoint, type TinyLm, writeCheckpoint } from './fixtures.js';
import { expectClose, tempDir } from './helpers.js';
import { type RefState, referenceStep } from './reference.js';

const m: TinyLm = {
  core: 'lstm',
  mechanism: 'UR-',
  numLayers: 2,
  vocabSize: 13,
  embeddingSize: 6,
  hiddenSize: 8,
  downsize: 4,
  layerNorm: true,
  tiedEmbeddings: false,
  fixedGateOffset: false,
  zoneout: { c: 0.1, h: 0.05 },
};
let ckpt: Checkpoint;
let step: UrgateModel;
let sequence: UrgateModel;

beforeAll(async () => {
  const dir = tempDir('runtime');
  ckpt = lmCheckpoint(m, 42);
  const path = join(dir, 'tiny.safetensors');
  await writeCheckpoint(path, ckpt);
  const files = await exportCheckpoint(path, dir);
  step = await openModel(files.step as string);
  sequence = await openModel(files.sequence);
});

function zeroRef(B: number): RefState {
  const z = () =>
    Array.from({ length: m.numLayers }, () => tf.zeros([B, m.hiddenSize]) as tf.Tensor2D);
  return { h: z(), c: z() };
}

/** Total NLL of a stream scored token by token with the reference, zeroing the state where resets say. */
function referenceNll(tokens: number[], resets?: number[]): number {
  let state = zeroRef(1);
  let nll = 0;
  for (let i = 0; i + 1 < tokens.length; i++) {
    if (resets?.[i]) state = zeroRef(1);
    const r = referenceStep(ckpt, [tokens[i]], state);
    nll -= tf.logSoftmax(r.logits).dataSync()[tokens[i + 1]];
    state = r.state;
  }
  return nll;
}

/** `bias`: [token, bias] added to the logits before each argmax. */
function referenceGreedy(prompt: number[], n: number, bias: [number, number][] = []): number[] {
  let state = zeroRef(1);
  let logits: tf.Tensor2D | null = null;
  const out: number[] = [];
  for (const t of prompt) ({ logits, state } = referenceStep(ckpt, [t], state));
  for (let k = 0; k < n; k++) {
    const row = Float32Array.from((logits as tf.Tensor2D).dataSync());
    for (const [token, b] of bias) row[token] += b;
    const next = row.indexOf(Math.max(...row));
    out.push(next);
    ({ logits, state } = referenceStep(ckpt, [next], state));
  }
  return out;
}

const stream = (n: number, seed: number) => {
  const rng = new SeededRandom(seed);
  return Array.from({ length: n }, () => Math.floor(rng.next() * m.vocabSize));
};

describe('scoreTokens', () => {
  it('sums the per-token NLL of the stream across chunks and resets, B = 1', async () => {
    const tokens = stream(23, 1);
    const resets = tokens.map((_, i) => (i === 9 ? 1 : 0));
    const progress: number[][] = [];
    const r = await scoreTokens(sequence, tokens, {
      chunkLength: 4,
      resets,
      words: 10,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(progress).toEqual([4, 8, 12, 16, 20, 22].map((k) => [k, 22]));
    const nll = referenceNll(tokens, resets);
    expect(r.tokens).toBe(22);
    expect(r.nll).toBeCloseTo(nll, 4);
    expect(r.tokenPerplexity).toBeCloseTo(Math.exp(nll / 22), 4);
    expect(r.wordPerplexity).toBeCloseTo(Math.exp(nll / 10), 3);
  });

  it('scoreWindow: B rows side by side, each its own stream with its own resets and state', async () => {
    // Row b of a [T, 2] window reads streams[b]; the state carries into a second window.
    const streams = [stream(13, 3), stream(13, 4)];
    const resets = [streams[0].map((_, i) => (i === 5 ? 1 : 0)), streams[1].map(() => 0)];
    const window = (t0: number, steps: number) => ({
      steps,
      batch: 2,
      inputs: Array.from({ length: 2 * steps }, (_, k) => streams[k % 2][t0 + (k >> 1)]),
      targets: Array.from({ length: 2 * steps }, (_, k) => streams[k % 2][t0 + (k >> 1) + 1]),
      resets: Array.from({ length: 2 * steps }, (_, k) => resets[k % 2][t0 + (k >> 1)]),
    });
    const first = await scoreWindow(sequence, window(0, 7), zeroScoreState(sequence, 2));
    const second = await scoreWindow(sequence, window(7, 5), first.state);
    const rowSum = (b: number) =>
      [first.nll, second.nll].reduce(
        (s, nll) => s + nll.filter((_, k) => k % 2 === b).reduce((a, x) => a + x, 0),
        0,
      );
    expect(rowSum(0)).toBeCloseTo(referenceNll(streams[0], resets[0]), 4);
    expect(rowSum(1)).toBeCloseTo(referenceNll(streams[1]), 4);
    await expect(
      scoreWindow(sequence, { ...window(0, 2), inputs: [1, 2, 3] }, zeroScoreState(sequence, 2)),
    ).rejects.toThrow(/^scoreWindow: inputs has 3 entries, expected steps x batch = 4/);
  });
});

describe('generate', () => {
  it('greedy decoding (temperature 0) follows the argmax of the reference', async () => {
    const [out] = await generate(step, [[3, 1, 4]], { maxTokens: 6, temperature: 0 });
    expect(out).toEqual(referenceGreedy([3, 1, 4], 6));
  });

  it('logitBias shifts the logits every row samples from: a banned token never comes', async () => {
    const [first] = referenceGreedy([3, 1, 4], 1);
    const bias: [number, number][] = [
      [first, Number.NEGATIVE_INFINITY],
      [(first + 1) % m.vocabSize, 0.5],
    ];
    const [out] = await generate(step, [[3, 1, 4]], {
      maxTokens: 8,
      temperature: 0,
      logitBias: bias,
    });
    expect(out).toEqual(referenceGreedy([3, 1, 4], 8, bias));
    expect(out).not.toContain(first);
    await expect(generate(step, [[3]], { maxTokens: 1, logitBias: [[99, 1]] })).rejects.toThrow(
      /logitBias/,
    );
  });

  it('top-k 1 and a tiny top-p reduce sampling to greedy decoding', async () => {
    const greedy = referenceGreedy([5], 5);
    expect((await generate(step, [[5]], { maxTokens: 5, topK: 1, seed: 9 }))[0]).toEqual(greedy);
    expect((await generate(step, [[5]], { maxTokens: 5, topP: 1e-6, seed: 9 }))[0]).toEqual(greedy);
  });

  it('rows of a batch are independent: each equals its prompt decoded alone', async () => {
    const prompts = [[1], [2, 7, 7, 0], [12, 3]];
    const batch = await generate(step, prompts, { maxTokens: 4, temperature: 0 });
    expect(batch).toEqual(prompts.map((p) => referenceGreedy(p, 4)));
  });

  it('is reproducible from its seed, and stops a row at the stop token', async () => {
    const a = await generate(step, [[0], [0]], { maxTokens: 30, seed: 5, temperature: 1.5 });
    const b = await generate(step, [[0], [0]], { maxTokens: 30, seed: 5, temperature: 1.5 });
    const c = await generate(step, [[0], [0]], { maxTokens: 30, seed: 6, temperature: 1.5 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const stop = a[0][3];
    const stopped = await generate(step, [[0], [0]], {
      maxTokens: 30,
      seed: 5,
      temperature: 1.5,
      stopToken: stop,
    });
    expect(stopped[0]).toEqual(a[0].slice(0, a[0].indexOf(stop) + 1));
  });
});

/** Reference logits after reading `tokens` from a zero state. */
function referenceLogits(tokens: number[]): Float32Array {
  let state = zeroRef(1);
  let logits: tf.Tensor2D | null = null;
  for (const t of tokens) ({ logits, state } = referenceStep(ckpt, [t], state));
  return (logits as tf.Tensor2D).dataSync() as Float32Array;
}

describe('batched rows (stepRows, prefillRows)', () => {
  it('stepRows advances each row from its own state: a batch equals each row alone', async () => {
    const prompts = [[3, 1, 4], [9], [2, 7]];
    const states = prompts.map(() => zeroRowState(step));
    const V = m.vocabSize;
    // Row b reads prompts[b] one token per call, rows of different lengths sharing the calls.
    let logits: Float32Array = new Float32Array(0);
    const last: Float32Array[] = [];
    for (let t = 0; t < 3; t++) {
      const rows = prompts.map((_, b) => b).filter((b) => t < prompts[b].length);
      logits = await stepRows(
        step,
        rows.map((b) => prompts[b][t]),
        rows.map((b) => states[b]),
      );
      rows.forEach((b, i) => {
        if (t === prompts[b].length - 1) last[b] = logits.slice(i * V, (i + 1) * V);
      });
    }
    prompts.forEach((p, b) => {
      expectClose(last[b], referenceLogits(p), 1e-5);
    });
  });

  it('prefillRows scores pieces of several sequences in one call, a shorter starting piece left-padded', async () => {
    const a = stream(12, 3);
    const b = stream(5, 4);
    // Call 1: a's first 4 inputs and b's first 2 (shorter, starting: padded). Call 2: both go on by 3.
    const first = await prefillRows(sequence, [
      { state: null, tokens: a.slice(0, 4), targets: a.slice(1, 5) },
      { state: null, tokens: b.slice(0, 2), targets: b.slice(1, 3) },
    ]);
    const second = await prefillRows(sequence, [
      { state: first.states[0], tokens: a.slice(4, 7), targets: a.slice(5, 8) },
      {
        state: first.states[1],
        tokens: b.slice(2, 4).concat([b[4]]),
        targets: b.slice(3, 5).concat([0]),
      },
    ]);
    const nllA = [...first.nll[0], ...second.nll[0]].reduce((s, x) => s + x, 0);
    expect(nllA).toBeCloseTo(referenceNll(a.slice(0, 8)), 4);
    const nllB = [...first.nll[1], ...second.nll[1].subarray(0, 2)].reduce((s, x) => s + x, 0);
    expect(nllB).toBeCloseTo(referenceNll(b), 4);
    // The state after a piece continues in the step graph: a's 8th token after 7 prefilled.
    const state: RowState = second.states[0];
    const logits = await stepRows(step, [a[7]], [state]);
    expectClose(logits, referenceLogits(a.slice(0, 8)), 1e-5);
    await expect(
      prefillRows(sequence, [
        { state: null, tokens: a.slice(0, 4), targets: a.slice(1, 5) },
        { state: first.states[1], tokens: [1], targets: [2] },
      ]),
    ).rejects.toThrow(/row 1 continues a sequence with 1 tokens where the call runs 4/);
  });
});

describe('the step and sequence graphs agree bit for bit', () => {
  it('a state is the same however a stream is split between them and however many rows run', async () => {
    // E = 1024: the input projection spans several K blocks, where a Gemm with bias and a MatMul
    // then Add round differently; the graphs use the same op so that a server can continue a state
    // one graph reached with the other (a prefix cache) and answer as a cold run does.
    const wide: TinyLm = {
      ...m,
      numLayers: 1,
      embeddingSize: 1024,
      hiddenSize: 16,
      layerNorm: false,
      zoneout: null,
    };
    const dir = tempDir('agree');
    const path = join(dir, 'wide.safetensors');
    await writeCheckpoint(path, lmCheckpoint(wide, 5));
    const files = await exportCheckpoint(path, dir);
    const wideStep = await openModel(files.step as string);
    const wideSequence = await openModel(files.sequence);
    const tokens = stream(40, 11);
    const stepped = zeroRowState(wideStep);
    for (const t of tokens) await stepRows(wideStep, [t], [stepped]);
    const bits = (s: RowState) => [...s.h, ...(s.c ?? [])].map((x) => x.toString());
    for (const split of [[40], [13, 27], [1, 39]]) {
      let state: RowState | null = null;
      let at = 0;
      for (const n of split) {
        const piece = tokens.slice(at, at + n);
        // A second, unrelated row in the call: a row's result does not depend on the others.
        const other = { state: null, tokens: stream(n, 3), targets: stream(n, 4) };
        const r: { states: RowState[] } = await prefillRows(wideSequence, [
          other,
          { state, tokens: piece, targets: piece },
        ]);
        state = r.states[1];
        at += n;
      }
      expect(bits(state as RowState)).toEqual(bits(stepped));
    }
    await wideStep.close();
    await wideSequence.close();
  });
});

describe('BatchSampler', () => {
  it('draws each row from softmax(logits / temperature) with its own stream; greedy rows take the argmax', async () => {
    const sampler = await batchSampler();
    // logits (0, ln 3, -inf-ish): p = (1/4, 3/4, 0); at temperature 2: weights (1, √3, 0).
    const row = [0, Math.log(3), -80];
    const B = 2000;
    for (const [temperature, p1] of [
      [1, 0.75],
      [2, Math.sqrt(3) / (1 + Math.sqrt(3))],
    ]) {
      const uniform = seededUniform(3);
      const logits = Float32Array.from({ length: B * 3 }, (_, k) => row[k % 3]);
      let ones = 0;
      for (let call = 0; call < 10; call++) {
        const out = await sampler.sample(
          logits,
          3,
          Array.from({ length: B }, () => ({
            options: { temperature, topK: 0, topP: 1 },
            uniform,
          })),
        );
        expect(out.every((t) => t === 0 || t === 1)).toBe(true);
        ones += out.filter((t) => t === 1).length;
      }
      expect(ones / (10 * B)).toBeCloseTo(p1, 1);
    }
    const mixed = await sampler.sample(Float32Array.from([0, 1, 5, 9, 2, 0, 0, 0, 0]), 3, [
      { options: { temperature: 0, topK: 0, topP: 1 }, uniform: seededUniform(1) },
      null,
      { options: { temperature: 1, topK: 1, topP: 1 }, uniform: seededUniform(1) },
    ]);
    expect(mixed.slice(0, 2)).toEqual([2, -1]);
    expect(mixed[2]).toBeGreaterThanOrEqual(0);
  });

  it('a row drawn among others (four at a time, then the rest) takes the token it takes alone', async () => {
    const sampler = await batchSampler();
    const V = 500;
    const B = 7; // one group of four, then three rows one by one
    const random = seededUniform(5);
    for (const temperature of [0.05, 1, 2]) {
      for (let trial = 0; trial < 20; trial++) {
        const logits = Float32Array.from({ length: B * V }, () => 8 * random() - 4);
        // A peaked row: one token holds nearly all the mass.
        logits[(trial % B) * V + trial] += 40;
        // A uniform near 1 walks to the end of the row, where rounding may leave it short.
        const near = trial % 3 === 0;
        const rows = (seed: number) =>
          Array.from({ length: B }, (_, b) => ({
            options: { temperature, topK: 0, topP: 1 },
            uniform: near ? () => 1 - 2 ** -40 : seededUniform(seed + b),
          }));
        const together = await sampler.sample(logits, V, rows(100 * trial));
        const alone: number[] = [];
        for (let b = 0; b < B; b++) {
          const [token] = await sampler.sample(logits.subarray(b * V, (b + 1) * V), V, [
            rows(100 * trial)[b],
          ]);
          alone.push(token);
        }
        expect(together).toEqual(alone);
      }
    }
  });
});

describe('tokenLogprobs', () => {
  it('is the log-softmax at the token, with the k most likely tokens first', () => {
    const logits = Float32Array.from([0, Math.log(3), Math.log(2), Math.log(2)]);
    const r = tokenLogprobs(logits, 2, 3);
    expect(r.logprob).toBeCloseTo(Math.log(2 / 8), 6);
    expect(r.top.map(([v]) => v)).toEqual([1, 2, 3]);
    expect(r.top[0][1]).toBeCloseTo(Math.log(3 / 8), 6);
    expect(tokenLogprobs(logits, 0, 0).top).toEqual([]);
  });
});

describe('sampleToken', () => {
  const frequencies = (
    logits: number[],
    opts: { temperature: number; topK: number; topP: number },
    n = 20000,
  ) => {
    const uniform = seededUniform(11);
    const counts = new Array(logits.length).fill(0);
    for (let k = 0; k < n; k++) counts[sampleToken(Float32Array.from(logits), opts, uniform)]++;
    return counts.map((c) => c / n);
  };

  it('draws from softmax(logits / temperature)', () => {
    // logits (0, ln 3): p = (1/4, 3/4); at temperature 2: weights (1, √3).
    const p = frequencies([0, Math.log(3)], { temperature: 1, topK: 0, topP: 1 });
    expect(p[1]).toBeCloseTo(0.75, 1);
    const q = frequencies([0, Math.log(3)], { temperature: 2, topK: 0, topP: 1 });
    expect(q[1]).toBeCloseTo(Math.sqrt(3) / (1 + Math.sqrt(3)), 1);
  });

  it('top-k and top-p renormalise over the kept tokens', () => {
    // p = (0.5, 0.3, 0.2): top-k 2 and top-p 0.7 both keep {0, 1}, giving (5/8, 3/8).
    const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
    for (const opts of [
      { temperature: 1, topK: 2, topP: 1 },
      { temperature: 1, topK: 0, topP: 0.7 },
    ]) {
      const p = frequencies(logits, opts);
      expect(p[2]).toBe(0);
      expect(p[0]).toBeCloseTo(0.625, 1);
    }
  });
});

describe('runtime modules', () => {
  it('import neither tfjs nor @urgate/cells (a server must start without them)', () => {
    const dir = new URL('../src/runtime/', import.meta.url).pathname;
    for (const f of readdirSync(dir)) {
      const imports = [...readFileSync(join(dir, f), 'utf8').matchAll(/from '([^']+)'/g)].map(
        (x) => x[1],
      );
      for (const i of imports)
        expect(i, `${f} imports ${i}`).toMatch(/^(\.\/|node:|onnxruntime-node$|onnx-proto$)/);
    }
  });
});
