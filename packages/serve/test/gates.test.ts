import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { gate, layerStep, type State, splitBlocks } from '@urgate/cells';
import { type LayerConfig, layerLayout, resolveLayerConfig } from '@urgate/contract';
import { type TinyModel, tinyModel } from '@urgate/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GateRunner, initialDecay } from '../src/gates.js';
import { OverloadError, type RunningServer, startServer } from '../src/index.js';
import { PAGE_DIR } from '../src/page.js';
import { encodePrompt } from '../src/text.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read response bodies field by field
type Json = any;

async function postGates(url: string, body: unknown): Promise<{ status: number; json: Json }> {
  const r = await fetch(`${url}/gates`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}

/**
 * The cells library's effective forget gate [layer][token][unit] for the fixture's UR-LSTM over
 * `ids` from the zero state: each step's pre-activations through `gate`, the state through
 * `layerStep`.
 */
function referenceForget(tiny: TinyModel, ids: number[]): number[][][] {
  const d = 8;
  const cfg: LayerConfig = { core: 'lstm', mechanism: 'UR-', inputSize: d, hiddenSize: d };
  const resolved = resolveLayerConfig(cfg);
  const layout = layerLayout(resolved);
  let xs = ids.map((id) => tf.tensor2d(tiny.embedding.subarray(id * d, (id + 1) * d), [1, d]));
  return tiny.layers.map((params) => {
    const bias = params.bOffset ? params.b.add(params.bOffset) : params.b;
    let state: State = { h: tf.zeros([1, d]), c: tf.zeros([1, d]) };
    const forget: number[][] = [];
    const outputs: tf.Tensor2D[] = [];
    for (const x of xs) {
      const a = tf.concat([x, state.h], 1).matMul(params.W).add(bias) as tf.Tensor2D;
      const { forget: f } = gate('UR-', 'lstm', splitBlocks(a, layout), resolved.downsize);
      forget.push(Array.from(f.dataSync()));
      state = layerStep(cfg, params, x, state);
      outputs.push(state.h);
    }
    xs = outputs;
    return forget;
  });
}

describe('POST /gates', () => {
  let tiny: TinyModel;
  let server: RunningServer;
  beforeAll(async () => {
    tiny = await tinyModel();
    server = await startServer({ modelPath: tiny.step, port: 0, maxGateTokens: 12 });
  });
  afterAll(async () => {
    await server?.close(0);
  });

  it("answers the cells library's effective forget gate per layer, token and unit (1e-5)", async () => {
    const prompt = 'the cat sat on the mat.\na dog ran';
    const r = await postGates(server.url, { prompt });
    expect(r.status).toBe(200);
    const ids = encodePrompt(tiny.tokenizer, prompt);
    expect(r.json.ids).toEqual(ids);
    // One text piece per token; they join to the text (the leading <eos> adds nothing).
    expect(r.json.tokens).toHaveLength(ids.length);
    expect(r.json.tokens.join('')).toBe(prompt);
    const expected = referenceForget(tiny, ids);
    expect([r.json.forget.length, r.json.forget[0].length, r.json.forget[0][0].length]).toEqual([
      2,
      ids.length,
      8,
    ]);
    const got = (r.json.forget as number[][][]).flat(2);
    const want = expected.flat(2);
    expect(Math.max(...got.map((v, k) => Math.abs(v - want[k])))).toBeLessThanOrEqual(1e-5);
    // Gates that vary between units and tokens: not a comparison of constants.
    expect(Math.max(...want) - Math.min(...want)).toBeGreaterThan(0.05);
    // UR-: UGI, decay periods ∝ 1/D² on [d/(d-1), d].
    expect(r.json.initial).toMatchObject({ kind: 'inverse-square', from: 8 / 7, to: 8 });
  });

  it('refuses bad bodies and too long texts with a 400 naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{}, /^prompt: required field is missing$/],
      [{ prompt: 3 }, /^prompt: must be string$/],
      [{ prompt: '' }, /^prompt: must NOT have fewer than 1 characters$/],
      [{ prompt: 'the', max_tokens: 3 }, /^max_tokens: unknown field$/],
      [
        { prompt: 'the cat sat on the mat and the dog ran to the house' },
        /^prompt: 14 tokens \(with the leading <eos>\); \/gates reads at most 12$/,
      ],
    ];
    for (const [body, message] of cases) {
      const r = await postGates(server.url, body);
      expect(r.status).toBe(400);
      expect(r.json.error.message).toMatch(message);
      expect(r.json.error.param).toMatch(/^prompt|max_tokens$/);
    }
  });

  it('says so (404) when the server has no gates graph; /v1/models tells the page', async () => {
    const s = await startServer({ modelPath: tiny.step, gatesPath: null, port: 0 });
    try {
      const r = await postGates(s.url, { prompt: 'the cat' });
      expect(r.status).toBe(404);
      expect(r.json.error.message).toMatch(/this server has no gates graph .*tiny\.gates\.onnx/);
      const models = (await (await fetch(`${s.url}/v1/models`)).json()) as Json;
      expect(models.data[0].urgate.gates).toBe(false);
    } finally {
      await s.close(0);
    }
  });

  it('refuses a gates graph of another checkpoint or kind at start', async () => {
    await expect(
      startServer({ modelPath: tiny.step, gatesPath: tiny.sequence, port: 0 }),
    ).rejects.toThrow(/is a lm-sequence graph, expected a language model's gates graph/);
    const other = await tinyModel({ seed: 8 });
    await expect(
      startServer({ modelPath: tiny.step, gatesPath: other.gates, port: 0 }),
    ).rejects.toThrow(/was exported from another checkpoint than the step graph/);
  });

  it('queues one text behind the running one and refuses the next (429)', async () => {
    const runner = await GateRunner.start(
      { path: tiny.gates, provider: 'cpu', intraOpThreads: 1 },
      0,
    );
    try {
      const first = runner.run([1, 2, 3]);
      await expect(runner.run([1, 2])).rejects.toBeInstanceOf(OverloadError);
      expect((await first).dims).toEqual([2, 3, 8]);
    } finally {
      await runner.close();
    }
  });
});

describe('initial decay periods (Table 4) by initialisation', () => {
  const model = (mechanism: string, extra = {}) => ({
    kind: 'lm' as const,
    core: 'lstm' as const,
    mechanism,
    numLayers: 1,
    hiddenSize: 64,
    ...extra,
  });
  it('standard bias 1: D = 1 + e; chrono: uniform on [2, Tmax]; UGI and cumax: 1/D² on [d/(d-1), d]', () => {
    expect(initialDecay(model('-'))).toMatchObject({ kind: 'point', at: 1 + Math.E });
    // σ(1) = 1/(1 + e^-1): D = 1/(1 - σ(1)) = 1 + e.
    expect(1 / (1 - 1 / (1 + Math.exp(-1)))).toBeCloseTo(1 + Math.E, 12);
    expect(initialDecay(model('C-', { tMax: 100 }))).toMatchObject({ from: 2, to: 100 });
    expect(initialDecay(model('C-'))).toMatchObject({ from: 2, to: 64 });
    for (const m of ['U-', 'UR-', 'O-', 'OR-', 'UM-'])
      expect(initialDecay(model(m))).toMatchObject({
        kind: 'inverse-square',
        from: 64 / 63,
        to: 64,
      });
  });
});

describe('the page at /', () => {
  let tiny: TinyModel;
  let server: RunningServer;
  beforeAll(async () => {
    tiny = await tinyModel();
    server = await startServer({ modelPath: tiny.step, port: 0 });
  });
  afterAll(async () => {
    await server?.close(0);
  });

  it('serves the built index.html and the bundles it names, nothing from elsewhere', async () => {
    const r = await fetch(`${server.url}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    expect(r.headers.get('cache-control')).toBe('no-cache');
    const html = await r.text();
    expect(html).toBe(await readFile(`${PAGE_DIR}index.html`, 'utf8'));
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/assets\/index-[\w-]+\.(js|css)$/);
      const a = await fetch(`${server.url}${asset}`);
      expect(a.status).toBe(200);
      expect(a.headers.get('cache-control')).toMatch(/immutable/);
      const body = await a.text();
      expect(body).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z]/i);
    }
  });
});
