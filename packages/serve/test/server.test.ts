import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generate, openModel, scoreTokens, type UrgateModel } from '@urgate/onnx/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/index.js';
import { type TinyModel, tinyModel } from './fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read response bodies field by field
type Json = any;

async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Json; headers: Headers }> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, json: await r.json(), headers: r.headers };
}

const LONG = 20_000;

describe('@urgate/serve', () => {
  let tiny: TinyModel;
  let server: RunningServer;
  let step: UrgateModel;
  let sequence: UrgateModel;

  beforeAll(async () => {
    tiny = await tinyModel();
    server = await startServer({ modelPath: tiny.step, port: 0, workers: 2, maxTokensLimit: LONG });
    step = await openModel(tiny.step);
    sequence = await openModel(tiny.sequence);
  });
  afterAll(async () => {
    await server?.close();
    await step?.close();
    await sequence?.close();
  });

  it('answers /health and describes the model on /v1/model (tokenizer identity, not its vocabulary)', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = (await (await fetch(`${server.url}/health`)).json()) as Json;
    expect(health).toEqual({ status: 'ok', workers: 2, pending: 0 });
    const info = (await (await fetch(`${server.url}/v1/model`)).json()) as Json;
    expect(info.model).toMatchObject({ kind: 'lm', core: 'lstm', mechanism: 'UR-', vocabSize: 16 });
    expect(info.tokenizer).toEqual({
      available: true,
      kind: 'word',
      checksum: tiny.tokenizer.identity.checksum,
      vocabSize: 16,
      eosId: 1,
      unkId: 0,
    });
    expect(info.endpoints).toEqual({ generate: true, score: true });
  });

  it('generate: a prompt is <eos> + its word ids; seeded sampling repeats and equals onnx generate', async () => {
    const request = {
      prompt: 'the cat sat',
      maxTokens: 12,
      temperature: 0.9,
      topK: 8,
      topP: 0.95,
      seed: 42,
    };
    const a = await post(`${server.url}/v1/generate`, request);
    const b = await post(`${server.url}/v1/generate`, request);
    expect(a.status).toBe(200);
    expect(b.json).toEqual(a.json);
    const [direct] = await generate(step, [[1, 2, 3, 4]], {
      maxTokens: 12,
      temperature: 0.9,
      topK: 8,
      topP: 0.95,
      seed: 42,
    });
    expect(a.json.tokens).toEqual(direct);
    expect(a.json.text).toBe(tiny.tokenizer.decode(direct));
    expect(a.json.seed).toBe(42);
    expect(a.json.promptTokens).toBe(4);
  });

  it('generate: greedy decoding (temperature 0) from token ids equals onnx generate', async () => {
    const r = await post(`${server.url}/v1/generate`, {
      tokens: [1, 8, 9],
      maxTokens: 10,
      temperature: 0,
    });
    const [direct] = await generate(step, [[1, 8, 9]], { maxTokens: 10, temperature: 0 });
    expect(r.json.tokens).toEqual(direct);
  });

  it('generate: a multi-line prompt puts <eos> between lines; stopToken ends the row', async () => {
    const r = await post(`${server.url}/v1/generate`, {
      prompt: 'the dog\nran to',
      maxTokens: 30,
      temperature: 0,
      stopToken: 1,
    });
    const [direct] = await generate(step, [[1, 2, 8, 1, 9, 10]], {
      maxTokens: 30,
      temperature: 0,
      stopToken: 1,
    });
    expect(r.json.promptTokens).toBe(6);
    expect(r.json.tokens).toEqual(direct);
  });

  it('score: text is scored as <eos> + ids + <eos> per line, words = words + one <eos> per line', async () => {
    const r = await post(`${server.url}/v1/score`, { text: 'the cat sat on the mat\na dog .\n' });
    const ids = [1, 2, 3, 4, 5, 2, 6, 1, 7, 8, 15, 1];
    const direct = await scoreTokens(sequence, ids, { words: 6 + 1 + 3 + 1 });
    expect(r.status).toBe(200);
    expect(r.json.tokens).toBe(11);
    expect(r.json.words).toBe(11);
    expect(r.json.nll).toBeCloseTo(direct.nll, 10);
    expect(r.json.tokenPerplexity).toBeCloseTo(Math.exp(direct.nll / 11), 10);
    expect(r.json.wordPerplexity).toBeCloseTo(Math.exp(direct.nll / 11), 10);
  });

  it('score: token ids are scored as given, without a word count', async () => {
    const tokens = [1, 7, 8, 9, 10, 2, 11, 15, 1];
    const r = await post(`${server.url}/v1/score`, { tokens });
    const direct = await scoreTokens(sequence, tokens);
    expect(r.json.nll).toBeCloseTo(direct.nll, 10);
    expect(r.json.tokens).toBe(8);
    expect(r.json.wordPerplexity).toBeNull();
  });

  it('bad requests get 400 and a message naming the problem', async () => {
    const cases: [string, unknown, RegExp][] = [
      [
        '/v1/generate',
        { maxTokens: 4 },
        /exactly one of prompt \(text\) or tokens \(ids\), got neither/,
      ],
      ['/v1/generate', { prompt: 'a', tokens: [1], maxTokens: 4 }, /got both/],
      [
        '/v1/generate',
        { tokens: [1, 16], maxTokens: 4 },
        /tokens\[1\] = 16 is outside the vocabulary \[0, 16\)/,
      ],
      ['/v1/generate', { tokens: [1, -1] }, /tokens\[1\] = -1 is outside the vocabulary/],
      [
        '/v1/generate',
        { tokens: [1], stopToken: 99 },
        /stopToken\[0\] = 99 is outside the vocabulary/,
      ],
      ['/v1/generate', { tokens: [] }, /body\/tokens must NOT have fewer than 1 items/],
      ['/v1/generate', { tokens: [1.5] }, /body\/tokens\/0 must be integer/],
      ['/v1/generate', { prompt: 'a', temperature: -1 }, /body\/temperature must be >= 0/],
      ['/v1/generate', { prompt: 'a', topP: 0 }, /body\/topP must be > 0/],
      ['/v1/generate', { prompt: 'a', maxTokens: LONG + 1 }, /body\/maxTokens must be <= 20000/],
      ['/v1/generate', { prompt: 'a', max_tokens: 3 }, /must NOT have additional properties/],
      ['/v1/generate', { prompt: 7 }, /body\/prompt must be string/],
      [
        '/v1/generate',
        '{"prompt": "\\ud800 cat"}',
        /prompt cannot be encoded: it holds a lone UTF-16 surrogate/,
      ],
      ['/v1/generate', '{"prompt": ', /Unexpected end of JSON|Body is not valid JSON/],
      ['/v1/score', { tokens: [1] }, /body\/tokens must NOT have fewer than 2 items/],
      [
        '/v1/score',
        { tokens: [1, 2, 300] },
        /tokens\[2\] = 300 is outside the vocabulary \[0, 16\)/,
      ],
      ['/v1/score', { text: '' }, /body\/text must NOT have fewer than 1 characters/],
      [
        '/v1/score',
        { text: 'a', tokens: [1, 2] },
        /exactly one of text \(text\) or tokens \(ids\), got both/,
      ],
    ];
    for (const [path, body, message] of cases) {
      const r = await post(`${server.url}${path}`, body);
      expect({ path, body, status: r.status }).toEqual({ path, body, status: 400 });
      expect(r.json.message).toMatch(message);
    }
  });

  it('stays responsive while a long generation runs in a worker: /health and a short request finish first', async () => {
    const finished: string[] = [];
    const long = post(`${server.url}/v1/generate`, { tokens: [1], maxTokens: LONG, seed: 1 }).then(
      (r) => {
        finished.push('long');
        return r;
      },
    );
    // Wait until the long request is running in a worker before asking anything else.
    while (
      finished.length === 0 &&
      ((await (await fetch(`${server.url}/health`)).json()) as Json).pending === 0
    );
    const health = fetch(`${server.url}/health`).then(async (r) => {
      finished.push('health');
      return (await r.json()) as Json;
    });
    const short = post(`${server.url}/v1/generate`, { tokens: [1], maxTokens: 5, seed: 1 }).then(
      (r) => {
        finished.push('short');
        return r;
      },
    );
    const [l, h, s] = await Promise.all([long, health, short]);
    expect(finished.at(-1)).toBe('long');
    expect(h.status).toBe('ok');
    expect(l.json.tokens).toHaveLength(LONG);
    expect(s.json.tokens).toHaveLength(5);
  });

  it('a model without a tokenizer takes token ids only; without a sequence graph /v1/score is 501', async () => {
    const bare = await tinyModel({ withTokenizer: false });
    const s = await startServer({ modelPath: bare.step, sequencePath: null, port: 0, workers: 1 });
    try {
      const text = await post(`${s.url}/v1/generate`, { prompt: 'the cat' });
      expect(text.status).toBe(400);
      expect(text.json.message).toMatch(
        /prompt \(text\) cannot be encoded: the model metadata carries no tokenizer; send tokens/,
      );
      const ids = await post(`${s.url}/v1/generate`, { tokens: [1, 2], maxTokens: 3, seed: 5 });
      expect(ids.status).toBe(200);
      expect(ids.json.text).toBeNull();
      expect(ids.json.tokens).toHaveLength(3);
      const score = await post(`${s.url}/v1/score`, { tokens: [1, 2, 3] });
      expect(score.status).toBe(501);
      expect(score.json.message).toMatch(/no sequence model/);
    } finally {
      await s.close();
    }
  });

  it('refuses to start on a graph that is not a step graph, with one clear line', async () => {
    await expect(startServer({ modelPath: tiny.sequence, port: 0, workers: 1 })).rejects.toThrow(
      /is a lm-sequence graph; serving needs a language model's step graph/,
    );
    await expect(
      startServer({ modelPath: `${tiny.dir}/missing.step.onnx`, port: 0, workers: 1 }),
    ).rejects.toThrow(/openModel: cannot read .*missing\.step\.onnx/);
  });

  it('close() lets a running request finish and ends its keep-alive connection', async () => {
    const s = await startServer({
      modelPath: tiny.step,
      port: 0,
      workers: 1,
      maxTokensLimit: LONG,
    });
    let settled = false;
    const running = post(`${s.url}/v1/generate`, { tokens: [1], maxTokens: LONG, seed: 3 }).finally(
      () => (settled = true),
    );
    while (!settled && ((await (await fetch(`${s.url}/health`)).json()) as Json).pending === 0);
    await s.close();
    const r = await running;
    expect(r.status).toBe(200);
    expect(r.json.tokens).toHaveLength(LONG);
    expect(r.headers.get('connection')).toBe('close');
  });

  it('the serving process loads neither tfjs, @urgate/cells nor the native kernels', async () => {
    const log = `${tiny.dir}/modules.log`;
    const child = spawn(
      process.execPath,
      [
        '--import',
        fileURLToPath(new URL('./child/record-modules.mjs', import.meta.url)),
        '--import',
        fileURLToPath(new URL('../dev/register-source.mjs', import.meta.url)),
        '--conditions=@urgate/source',
        fileURLToPath(new URL('./child/serve.ts', import.meta.url)),
        tiny.step,
      ],
      { env: { ...process.env, URGATE_MODULE_LOG: log }, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const { url } = JSON.parse((await lines.next()).value);
    const g = await post(`${url}/v1/generate`, { prompt: 'the cat', maxTokens: 3, seed: 1 });
    const sc = await post(`${url}/v1/score`, { text: 'the cat' });
    expect([g.status, sc.status]).toEqual([200, 200]);
    child.stdin.write('stop\n');
    const { closed, cjs } = JSON.parse((await lines.next()).value);
    expect(closed).toBe(true);
    const esm = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    // The record covers the worker threads: onnxruntime is only imported there.
    expect(esm.some((u) => u.includes('/onnxruntime-node/'))).toBe(true);
    expect(esm.some((u) => u.includes('/fastify/'))).toBe(true);
    expect(esm.some((u) => u.includes('/packages/wikitext/'))).toBe(true);
    const forbidden = /@tensorflow|\/packages\/(cells|kernels)\/|@urgate\/(cells|kernels)|\.node$/;
    expect([...esm, ...cjs].filter((u) => forbidden.test(u) && !u.includes('onnxruntime'))).toEqual(
      [],
    );
  });
});
