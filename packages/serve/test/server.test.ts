import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generate, openModel, scoreTokens, type UrgateModel } from '@urgate/onnx/runtime';
import { recordedModules, recordingModules } from '@urgate/source-hooks';
import { type TinyModel, tinyModel } from '@urgate/test-support';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detokenize, type RunningServer, type ServerOptions, startServer } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read response bodies field by field
type Json = any;

const LONG = 200_000;

async function post(
  url: string,
  body: unknown,
): Promise<{ status: number; json: Json; headers: Headers }> {
  const r = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  return { status: r.status, json: await r.json(), headers: r.headers };
}

/** The value of an unlabelled (or exactly labelled) sample in Prometheus text. */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

async function until(check: () => Promise<boolean>, what: string, seconds = 20): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** promtool (Debian's prometheus package, installed by tools/setup.sh). */
const promtool = spawnSync('promtool', ['--version']).status === 0;

const client = (server: RunningServer) =>
  new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });

/**
 * A client that sends a completion request's headers and the start of its body (`rest`, after
 * the content type), then `chunk` every `everyMs` ms, still writing after the server's FIN
 * (half-open, as a client sending its body does), until the connection closes.
 */
function slowClient(url: string, rest: string, chunk: string, everyMs: number) {
  const t0 = Date.now();
  const socket = connect({
    port: Number(new URL(url).port),
    host: '127.0.0.1',
    allowHalfOpen: true,
  });
  let answer = '';
  let errorAt: number | null = null;
  socket.on('data', (d) => (answer += d));
  socket.on('error', () => (errorAt ??= Date.now() - t0));
  socket.write(
    `POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${rest}`,
  );
  const trickle = setInterval(() => socket.writable && socket.write(chunk), everyMs);
  return {
    answer: () => answer,
    since: () => Date.now() - t0,
    /** The whole answer, when the socket errored (ms, or null), and when it closed (ms). */
    closed: new Promise<{ answer: string; errorAt: number | null; lingered: number }>((resolve) =>
      socket.on('close', () => {
        clearInterval(trickle);
        resolve({ answer, errorAt, lingered: Date.now() - t0 });
      }),
    ),
  };
}

describe('@urgate/serve: OpenAI completions', () => {
  let tiny: TinyModel;
  let server: RunningServer;
  let openai: OpenAI;
  let step: UrgateModel;
  let sequence: UrgateModel;
  /** The text the server gives for sampled ids after a prompt: the rendering's continuation. */
  const continuation = (prompt: number[], ids: number[]) =>
    detokenize(tiny.tokenizer, [...prompt, ...ids]).slice(
      detokenize(tiny.tokenizer, prompt).length,
    );

  beforeAll(async () => {
    tiny = await tinyModel();
    // Chunks of 3 prompt tokens: the prompts below are prefilled over several sequence-graph calls.
    server = await startServer({
      modelPath: tiny.step,
      port: 0,
      prefillChunk: 3,
      maxTokensLimit: LONG,
    });
    openai = client(server);
    step = await openModel(tiny.step);
    sequence = await openModel(tiny.sequence);
  });
  afterAll(async () => {
    await server?.close();
    await step?.close();
    await sequence?.close();
  });

  it('lists the model, is alive and ready', async () => {
    const models = await openai.models.list();
    expect(models.data.map((m) => [m.id, m.object])).toEqual([['tiny', 'model']]);
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.url}/ready`);
    expect([ready.status, ((await ready.json()) as Json).status]).toEqual([200, 'ready']);
  });

  it('a completion: <eos> + the prompt words, then seeded samples equal to onnx generate; same seed, same text', async () => {
    const request = {
      model: 'tiny',
      prompt: 'the cat sat on the mat',
      max_tokens: 12,
      temperature: 0.9,
      top_p: 0.95,
      seed: 42,
      logit_bias: { '0': 0 }, // names <unk>: it may be sampled, as generate() samples it
    };
    const a = await openai.completions.create(request);
    const b = await openai.completions.create(request);
    const prompt = [1, 2, 3, 4, 5, 2, 6];
    const [direct] = await generate(step, [prompt], {
      maxTokens: 12,
      temperature: 0.9,
      topP: 0.95,
      seed: 42,
    });
    expect(a.choices[0].text).toBe(continuation(prompt, direct));
    expect(a.choices[0].finish_reason).toBe('length');
    expect(a.usage).toEqual({
      prompt_tokens: 7,
      completion_tokens: 12,
      total_tokens: 19,
      prompt_tokens_details: { cached_tokens: 0 },
    });
    expect(b.choices[0].text).toBe(a.choices[0].text);
    const other = await openai.completions.create({ ...request, seed: 43 });
    expect(other.choices[0].text).not.toBe(a.choices[0].text);
  });

  it('<unk> is never sampled unless logit_bias names it; logit_bias shifts the sampled logits', async () => {
    const base = { model: 'tiny', prompt: [1, 2], max_tokens: 400, temperature: 2, seed: 9 };
    const free = await openai.completions.create(base);
    expect(free.choices[0].text).not.toContain('<unk>');
    const named = await openai.completions.create({ ...base, logit_bias: { '0': 0 } });
    expect(named.choices[0].text).toContain('<unk>'); // a flat distribution over 16 words, 400 draws
    const forced = await openai.completions.create({
      ...base,
      max_tokens: 5,
      logit_bias: { '3': 100 },
    });
    expect(forced.choices[0].text).toBe(' cat cat cat cat cat');
  });

  it('n: 2 gives two choices, the rows of onnx generate for the same seed', async () => {
    const r = await openai.completions.create({
      model: 'tiny',
      prompt: [1, 8, 9],
      max_tokens: 10,
      n: 2,
      seed: 7,
      logit_bias: { '0': 0 },
    });
    const direct = await generate(
      step,
      [
        [1, 8, 9],
        [1, 8, 9],
      ],
      { maxTokens: 10, seed: 7 },
    );
    expect(r.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(r.choices.map((c) => c.text)).toEqual(direct.map((d) => continuation([1, 8, 9], d)));
    expect(r.usage?.completion_tokens).toBe(20);
  });

  it('streams: chunks arrive while the sequence still runs, join to the unstreamed text, then usage and [DONE]', async () => {
    const request = { model: 'tiny', prompt: 'the dog ran', max_tokens: 3000, seed: 3 } as const;
    const stream = await openai.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let runningAtFirst = -1;
    let usage: Json = null;
    for await (const chunk of stream) {
      if (chunks++ === 0) runningAtFirst = await metric(server.url, 'urgate_active_sequences');
      for (const c of chunk.choices) text += c.text;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(runningAtFirst).toBe(1); // the first chunk came before the generation ended
    expect(chunks).toBeGreaterThan(100);
    expect(usage).toMatchObject({ completion_tokens: 3000 });
    const whole = await openai.completions.create(request);
    expect(text).toBe(whole.choices[0].text);
  });

  it('stop: the text ends before the first stop string, finish_reason "stop", streamed or not', async () => {
    const base = { model: 'tiny', prompt: [1, 2, 3], max_tokens: 40, temperature: 0 };
    const full = (await openai.completions.create(base)).choices[0].text;
    const words = full.split(' ').filter(Boolean);
    const stopWord = ` ${words[3]}`;
    const expected = full.slice(0, full.indexOf(stopWord));
    const r = await openai.completions.create({ ...base, stop: [' zebra', stopWord] });
    expect(r.choices[0]).toMatchObject({ text: expected, finish_reason: 'stop' });
    const stream = await openai.completions.create({ ...base, stop: stopWord, stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream)
      for (const c of chunk.choices) {
        text += c.text;
        finish = c.finish_reason ?? finish;
      }
    expect([text, finish]).toEqual([expected, 'stop']);
  });

  it('echo + logprobs + max_tokens 0 scores a text the OpenAI way: the logprobs sum to -scoreTokens nll', async () => {
    const ids = [1, 2, 3, 4, 5, 2, 6, 1, 7, 8, 15];
    const direct = await scoreTokens(sequence, ids);
    for (const logprobs of [0, 2]) {
      // 0: prompt read by the sequence graph; 2: by the step graph (top alternatives need the full distribution).
      const r = await openai.completions.create({
        model: 'tiny',
        prompt: ids,
        max_tokens: 0,
        echo: true,
        logprobs,
      });
      const lp = r.choices[0].logprobs as Json;
      expect(lp.tokens).toHaveLength(ids.length);
      expect(lp.token_logprobs[0]).toBeNull();
      const sum = lp.token_logprobs.slice(1).reduce((s: number, x: number) => s + x, 0);
      expect(sum).toBeCloseTo(-direct.nll, 4);
      expect(r.choices[0].text).toBe(detokenize(tiny.tokenizer, ids));
      expect(lp.tokens.join('')).toBe(r.choices[0].text);
      expect(r.usage).toEqual({
        prompt_tokens: 11,
        completion_tokens: 0,
        total_tokens: 11,
        prompt_tokens_details: { cached_tokens: 0 }, // scored prompts are read in full
      });
      // The token itself is always among its top_logprobs, with its logprob; at most logprobs + 1 entries.
      lp.top_logprobs.slice(1).forEach((top: Record<string, number>, k: number) => {
        expect(top[lp.tokens[k + 1]]).toBeCloseTo(lp.token_logprobs[k + 1], 6);
        expect(Object.keys(top).length).toBeLessThanOrEqual(logprobs + 1);
      });
    }
  });

  it('logprobs of sampled tokens are the model’s log-softmax; echo puts the prompt first', async () => {
    const r = await openai.completions.create({
      model: 'tiny',
      prompt: 'a dog',
      max_tokens: 5,
      temperature: 0,
      logprobs: 1,
      echo: true,
    });
    const lp = r.choices[0].logprobs as Json;
    expect(lp.tokens).toHaveLength(3 + 5);
    // Greedy: each sampled token is the most likely one, so it is its own top-1.
    for (let k = 3; k < 8; k++) expect(Object.keys(lp.top_logprobs[k])).toEqual([lp.tokens[k]]);
    expect(r.choices[0].text.startsWith('a dog')).toBe(true);
    expect(lp.text_offset.slice(0, 4)).toEqual([0, 0, 1, 5]);
  });

  it('batched generation gives the same tokens as one request at a time', async () => {
    const requests = Array.from({ length: 12 }, (_, k) => ({
      model: 'tiny',
      prompt: Array.from({ length: 1 + ((k * 5) % 17) }, (_, i) => (i * 7 + k) % 16),
      max_tokens: 200 + k,
      seed: 100 + k,
      logit_bias: { '0': 0 },
    }));
    const alone: string[] = [];
    for (const q of requests) alone.push((await openai.completions.create(q)).choices[0].text);
    const steps = async () => ({
      all: await metric(server.url, 'urgate_batch_size_count'),
      single: await metric(server.url, 'urgate_batch_size_bucket{le="1"}'),
    });
    const before = await steps();
    const together = await Promise.all(requests.map((q) => openai.completions.create(q)));
    expect(together.map((r) => r.choices[0].text)).toEqual(alone);
    const after = await steps();
    // They were batched: some steps advanced more than one sequence.
    expect(after.single - before.single).toBeLessThan(after.all - before.all);
    // The first request is row 0 of a generate() batch seeded 100.
    const direct = await generate(step, [requests[0].prompt], { maxTokens: 200, seed: 100 });
    expect(alone[0]).toBe(continuation(requests[0].prompt, direct[0]));
  });

  it('a long prompt is prefilled in chunks interleaved with the others: a short request sent after it finishes first', async () => {
    const s = await startServer({
      modelPath: tiny.step,
      port: 0,
      prefillChunk: 4,
      prefillTokens: 8,
    });
    try {
      const order: string[] = [];
      const longPrompt = Array.from({ length: 8000 }, (_, i) => (i * 5) % 16);
      const long = post(s.url, { model: 'tiny', prompt: longPrompt, max_tokens: 1 }).then((r) => {
        order.push('long');
        return r;
      });
      await until(
        async () => (await metric(s.url, 'urgate_active_sequences')) === 1,
        'the long prompt to run',
      );
      const short = await post(s.url, { model: 'tiny', prompt: [1, 2, 3, 4, 5, 6], max_tokens: 2 });
      order.push('short');
      expect([short.status, (await long).status]).toEqual([200, 200]);
      expect(order).toEqual(['short', 'long']);
      expect((await long).json.usage.prompt_tokens).toBe(8000);
    } finally {
      await s.close();
    }
  });

  it('bad input: 400 in the OpenAI error shape naming the field', async () => {
    const ok = { model: 'tiny', prompt: 'the cat' };
    const cases: [unknown, string | null, RegExp][] = [
      [{ ...ok, max_tokns: 3 }, 'max_tokns', /max_tokns: unknown field/],
      [{ prompt: 'a' }, 'model', /model: required/],
      [{ model: 'tiny' }, 'prompt', /prompt: required/],
      [{ ...ok, max_tokens: '3' }, 'max_tokens', /max_tokens: must be integer/],
      [{ ...ok, max_tokens: LONG + 1 }, 'max_tokens', /max_tokens: must be <= 200000/],
      [{ ...ok, temperature: -1 }, 'temperature', /temperature: must be >= 0/],
      [{ ...ok, top_p: 0 }, 'top_p', /top_p: must be > 0/],
      [{ ...ok, n: 0 }, 'n', /n: must be >= 1/],
      [{ ...ok, logprobs: 6 }, 'logprobs', /logprobs: must be <= 5/],
      [{ ...ok, stream: 'yes' }, 'stream', /stream: must be boolean/],
      [
        { ...ok, stream_options: { include_usage: true, x: 1 } },
        'stream_options.x',
        /unknown field/,
      ],
      [
        { ...ok, stream_options: { include_usage: true } },
        'stream_options',
        /only allowed with stream: true/,
      ],
      [{ ...ok, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop', /at most 4 strings/],
      [{ ...ok, stop: [''] }, 'stop', /stop\[0\]: must not be empty/],
      [{ ...ok, best_of: 3 }, 'best_of', /only best_of = n/],
      [{ ...ok, presence_penalty: 0.5 }, 'presence_penalty', /only 0/],
      [{ ...ok, logit_bias: { '16': 1 } }, 'logit_bias', /key "16" is not a token id in \[0, 16\)/],
      [{ ...ok, logit_bias: { '3': 101 } }, 'logit_bias[3]', /must be <= 100/],
      [{ ...ok, prompt: 7 }, 'prompt', /prompt: must be a string, an array of strings/],
      [{ ...ok, prompt: [] }, 'prompt', /not empty/],
      [{ ...ok, prompt: [1, 'a'] }, 'prompt', /prompt: must be a string/],
      [
        { ...ok, prompt: [1, 16] },
        'prompt',
        /prompt\[1\] = 16 is outside the vocabulary \[0, 16\)/,
      ],
      [{ ...ok, prompt: [[1], [2, -1]] }, 'prompt[1]', /prompt\[1\]\[1\] = -1 is outside/],
      [{ ...ok, prompt: '\ud800 cat' }, 'prompt', /lone UTF-16 surrogate/],
      [{ ...ok, prompt: ['a', 'b'], n: 40 }, 'n', /n: must be <= 64|more than this server/],
      ['{"model": "tiny", "prompt": ', null, /JSON/],
      [
        Buffer.from('{"model": "tiny", "prompt": "the \xff cat"}', 'latin1'),
        null,
        /body: not valid UTF-8/,
      ],
    ];
    for (const [body, param, message] of cases) {
      const r = await post(server.url, body);
      expect({
        body: String(body instanceof Uint8Array ? 'bytes' : JSON.stringify(body)),
        status: r.status,
      }).toEqual({
        body: String(body instanceof Uint8Array ? 'bytes' : JSON.stringify(body)),
        status: 400,
      });
      expect(r.json.error.type).toBe('invalid_request_error');
      expect(r.json.error.message).toMatch(message);
      if (param) expect(r.json.error.param).toBe(param);
    }
    const unknownModel = await post(server.url, { ...ok, model: 'gpt-4' });
    expect([unknownModel.status, unknownModel.json.error.code]).toEqual([404, 'model_not_found']);
    // The official client surfaces the same error.
    await expect(
      openai.completions.create({ model: 'tiny', prompt: 'a', temperature: 3 }),
    ).rejects.toMatchObject({
      status: 400,
      param: 'temperature',
    });
  });

  it('/metrics: standard process and Node.js metric names, the server’s own under urgate_, counters (only) named _total', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const types = new Map(
      [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]] as const),
    );
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes'])
      expect(types.get(name)).toBeDefined();
    for (const name of ['nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds'])
      expect(types.get(name)).toBeDefined();
    expect([...types.keys()].filter((n) => !/^(process|nodejs|urgate)_/.test(n))).toEqual([]);
    expect(types.get('urgate_rejected_requests_total')).toBe('counter');
    // Prometheus' naming rule that promtool checks: `_total` marks counters.
    for (const [name, type] of types)
      expect([name, name.endsWith('_total')]).toEqual([name, type === 'counter']);
  });

  it.skipIf(!promtool)(
    '/metrics passes `promtool check metrics` with no lint problem',
    async () => {
      await openai.completions.create({ model: 'tiny', prompt: 'the', max_tokens: 2 });
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect({ status: check.status, out: check.stdout + check.stderr }).toEqual({
        status: 0,
        out: '',
      });
    },
  );

  it('a disconnected client’s sequence leaves the batch', async () => {
    const cancelled = await metric(
      server.url,
      'urgate_cancelled_requests_total{reason="disconnect"}',
    );
    const controller = new AbortController();
    const stream = await openai.completions.create(
      { model: 'tiny', prompt: 'the', max_tokens: LONG, stream: true },
      { signal: controller.signal },
    );
    for await (const _ of stream) break; // the first chunk, then the client goes
    controller.abort();
    await until(
      async () => (await metric(server.url, 'urgate_active_sequences')) === 0,
      'the sequence to leave',
    );
    expect(await metric(server.url, 'urgate_cancelled_requests_total{reason="disconnect"}')).toBe(
      cancelled + 1,
    );
    // It stopped long before its 200,000 tokens.
    const generated = await metric(server.url, 'urgate_generated_tokens_total');
    await new Promise((r) => setTimeout(r, 100));
    expect(await metric(server.url, 'urgate_generated_tokens_total')).toBe(generated);
  });

  it('a model without a tokenizer takes token ids (its text is the ids); without a sequence graph prompts go through the step graph', async () => {
    const bare = await tinyModel({ withTokenizer: false });
    const s = await startServer({ modelPath: bare.step, sequencePath: null, port: 0 });
    try {
      const text = await post(s.url, { model: 'tiny', prompt: 'the cat' });
      expect(text.status).toBe(400);
      expect(text.json.error.message).toMatch(
        /the model metadata carries no tokenizer; send token ids/,
      );
      const r = await client(s).completions.create({
        model: 'tiny',
        prompt: [1, 2, 3],
        max_tokens: 6,
        seed: 5,
      });
      const [direct] = await generate(step, [[1, 2, 3]], { maxTokens: 6, seed: 5 });
      expect(r.choices[0].text).toBe(direct.map((t) => ` ${t}`).join(''));
      const scored = await client(s).completions.create({
        model: 'tiny',
        prompt: [1, 2, 3, 4],
        max_tokens: 0,
        echo: true,
        logprobs: 0,
      });
      const sum = (scored.choices[0].logprobs?.token_logprobs ?? [])
        .slice(1)
        .reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(-(await scoreTokens(sequence, [1, 2, 3, 4])).nll, 4);
    } finally {
      await s.close();
    }
  });

  it('refuses to start on a graph that is not a step graph, with one clear line', async () => {
    await expect(startServer({ modelPath: tiny.sequence, port: 0 })).rejects.toThrow(
      /is a lm-sequence graph; serving needs a language model's step graph/,
    );
    await expect(
      startServer({ modelPath: `${tiny.dir}/missing.step.onnx`, port: 0 }),
    ).rejects.toThrow(/openModel: cannot read .*missing\.step\.onnx/);
  });
});

describe('@urgate/serve under overload and faults', () => {
  let tiny: TinyModel;
  const servers: RunningServer[] = [];
  const start = async (options: Partial<ServerOptions>) => {
    const s = await startServer({
      modelPath: tiny.step,
      port: 0,
      maxTokensLimit: LONG,
      ...options,
    });
    servers.push(s);
    return s;
  };
  beforeAll(async () => {
    tiny = await tinyModel();
  });
  afterAll(async () => {
    for (const s of servers) await s.close(0);
  });

  it('with one batch row and a queue of N = 2: one runs, two wait, the next gets 429 with Retry-After; /ready says the queue is full', async () => {
    // The count bound alone: with a wait bound the third 200,000-token request could be refused
    // by its estimated wait instead.
    const s = await start({ maxBatch: 1, maxQueue: 2, maxQueueWait: 0 });
    const controllers = [0, 1, 2].map(() => new AbortController());
    const running = controllers.map((c, k) =>
      fetch(`${s.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', prompt: [1], max_tokens: LONG, seed: k }),
        signal: c.signal,
      }).catch(() => null),
    );
    await until(
      async () => (await metric(s.url, 'urgate_queue_depth')) === 2,
      'two queued requests',
    );
    const refused = await post(s.url, { model: 'tiny', prompt: [1], max_tokens: 1 });
    expect(refused.status).toBe(429);
    expect(refused.json.error).toMatchObject({ type: 'rate_limit_error', code: 'queue_full' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const ready = await fetch(`${s.url}/ready`);
    expect([ready.status, ((await ready.json()) as Json).reason]).toEqual([503, 'queue full']);
    // The clients go: the queued requests leave the queue, the running one the batch.
    for (const c of controllers) c.abort();
    await Promise.all(running);
    await until(
      async () =>
        (await metric(s.url, 'urgate_queue_depth')) +
          (await metric(s.url, 'urgate_active_sequences')) ===
        0,
      'queue and batch to empty',
    );
    expect((await post(s.url, { model: 'tiny', prompt: [1], max_tokens: 2 })).status).toBe(200);
    const text = await (await fetch(`${s.url}/metrics`)).text();
    expect(text).toMatch(/urgate_responses_total\{status="429"\} 1/);
    expect(text).toMatch(/urgate_rejected_requests_total\{reason="queue_full"\} 1/);
  });

  it('the wait bound: a queued request that reaches it is taken out with 429 (a stream before its first byte); one whose estimated wait exceeds it gets 429 at once with the Retry-After the measured rate gives', async () => {
    const bound = 400;
    const s = await start({ maxBatch: 1, maxQueueWait: bound });
    // Four at once on a fresh server (no rate measured yet, so all are queued): one holds the
    // row, the three others wait for it and are taken out at the bound.
    const controllers = [0, 1, 2, 3].map(() => new AbortController());
    const t0 = performance.now();
    const answers: { stream: boolean; status: number; json: Json; ms: number }[] = [];
    const sent = controllers.map((c, k) =>
      fetch(`${s.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', prompt: [1], max_tokens: LONG, stream: k % 2 === 1 }),
        signal: c.signal,
      }).then(
        async (r) => {
          if (r.status === 200) return;
          answers.push({ stream: k % 2 === 1, status: r.status, json: await r.json(), ms: 0 });
          answers[answers.length - 1].ms = performance.now() - t0;
        },
        () => undefined,
      ),
    );
    await until(async () => answers.length === 3, 'three requests taken out of the queue');
    expect(answers.map((a) => [a.status, a.json.error.code, a.json.error.type])).toEqual(
      Array(3).fill([429, 'queue_timeout', 'rate_limit_error']),
    );
    // Streams among them: answered with the JSON error, before any byte of an event stream.
    expect(answers.filter((a) => a.stream).length).toBeGreaterThanOrEqual(1);
    expect(answers.filter((a) => !a.stream).length).toBeGreaterThanOrEqual(1);
    for (const a of answers) {
      expect(a.ms).toBeGreaterThanOrEqual(bound - 5);
      expect(a.ms).toBeLessThan(bound + 5000);
    }

    // The service rate, measured here from the tokens the one row samples.
    const g0 = await metric(s.url, 'urgate_generated_tokens_total');
    const m0 = performance.now();
    await new Promise((r) => setTimeout(r, 500));
    const generated = await metric(s.url, 'urgate_generated_tokens_total');
    const rate = (generated - g0) / ((performance.now() - m0) / 1000);
    // The row frees when the running request has sampled the rest of its 200,000 tokens: far
    // beyond the bound, so the next request is refused at once, told to come back when that
    // wait has shrunk to the bound.
    const refused = await post(s.url, { model: 'tiny', prompt: [1], max_tokens: 1 });
    expect([refused.status, refused.json.error.code]).toEqual([429, 'estimated_wait']);
    expect(refused.json.error.message).toMatch(/estimated wait for a batch row is [\d.]+ s/);
    const retryAfter = Number(refused.headers.get('retry-after'));
    // Honest within the noise of a shared machine (a factor of 3).
    const honest = (LONG - generated) / rate - bound / 1000;
    expect(retryAfter).toBeGreaterThan(honest / 3);
    expect(retryAfter).toBeLessThan(honest * 3 + 1);
    for (const c of controllers) c.abort();
    await Promise.all(sent);
    const text = await (await fetch(`${s.url}/metrics`)).text();
    expect(text).toMatch(/urgate_rejected_requests_total\{reason="queue_timeout"\} 3/);
    expect(text).toMatch(/urgate_rejected_requests_total\{reason="estimated_wait"\} 1/);
    expect(text).toMatch(/urgate_rejected_requests_total\{reason="queue_full"\} 0/);
    expect(text).toMatch(/urgate_queue_wait_seconds_count 1/);
  });

  it('a body over the limit: 413 with the JSON error read by fetch and the openai client while they still send (declared or chunked); a 10 GB content-length trickled: 413, then the server reads on for a bounded time and closes', async () => {
    const s = await start({});
    const limit = 1 << 20; // maxPromptTokens 100,000 × 16 bytes + 64 KiB is 1.6 MB
    const big = JSON.stringify({ model: 'tiny', prompt: 'the '.repeat((10 << 20) / 4) });
    for (let k = 0; k < 3; k++) {
      const r = await post(s.url, big);
      expect([r.status, r.json.error.code, r.headers.get('connection')]).toEqual([
        413,
        'body_too_large',
        'close',
      ]);
      expect(r.json.error.message).toMatch(
        /request body: larger than this server's limit of \d+ bytes/,
      );
    }
    // No content-length: the limit is found while reading.
    const chunks = Array.from({ length: 10 }, () => new TextEncoder().encode('x'.repeat(limit)));
    const chunked = await fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        pull(controller) {
          const next = chunks.pop();
          if (next) controller.enqueue(next);
          else controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect([chunked.status, ((await chunked.json()) as Json).error.code]).toEqual([
      413,
      'body_too_large',
    ]);
    await expect(
      client(s).completions.create({ model: 'tiny', prompt: 'the '.repeat((10 << 20) / 4) }),
    ).rejects.toMatchObject({ status: 413, code: 'body_too_large' });

    // 10 GB announced, sent slowly: the answer comes at once, the client may go on writing
    // (no reset), and the server closes after at most its linger time.
    const slow = slowClient(
      s.url,
      'content-length: 10000000000\r\n\r\n{"model": "tiny", "prompt": "',
      'the '.repeat(256),
      20,
    );
    await until(async () => slow.answer().includes('}}'), 'the 413 answer');
    const answeredAt = slow.since();
    const { answer, errorAt, lingered } = await slow.closed;
    const [head, json] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 413 /);
    expect(head.toLowerCase()).toMatch(/\r\nconnection: close\r\n/);
    expect(JSON.parse(json).error.code).toBe('body_too_large');
    expect(answeredAt).toBeLessThan(2000);
    // Kept reading while the client wrote (the linger: no reset), then closed within its bound.
    expect(lingered).toBeGreaterThan(2000);
    expect(lingered).toBeLessThan(15_000);
    expect(errorAt ?? lingered).toBeGreaterThan(2000);
  });

  it('a body sent too slowly gets 408 with the JSON error, read by a client still writing, then the connection closes; a request past its deadline gets 504, running or queued', async () => {
    const s = await start({ bodyTimeout: 300, requestTimeout: 300, maxBatch: 1, maxQueueWait: 0 });
    const { answer, errorAt, lingered } = await slowClient(
      s.url,
      'content-length: 100000\r\n\r\n{"mod',
      ' ',
      50,
    ).closed;
    expect(lingered).toBeGreaterThan(2000);
    expect(lingered).toBeLessThan(15_000);
    expect(errorAt ?? lingered).toBeGreaterThan(2000);
    const [head, json] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 408 /);
    expect(head.toLowerCase()).toMatch(/\r\nconnection: close\r\n/);
    expect(JSON.parse(json).error).toMatchObject({
      code: 'request_timeout',
      message: "the request's headers and body did not arrive within this server's 300 ms",
    });
    // One runs, one waits for the single batch row: both past their deadline, both 504.
    const late = await Promise.all(
      [0, 1].map(() => post(s.url, { model: 'tiny', prompt: [1], max_tokens: LONG })),
    );
    expect(late.map((r) => [r.status, r.json.error.code])).toEqual([
      [504, 'deadline_exceeded'],
      [504, 'deadline_exceeded'],
    ]);
    expect(await metric(s.url, 'urgate_cancelled_requests_total{reason="deadline"}')).toBe(2);
    await until(
      async () => (await metric(s.url, 'urgate_active_sequences')) === 0,
      'the late sequence to leave',
    );
  });

  it('draining: /ready turns 503, new completions get 503, the running one finishes; past the drain deadline what runs is cut', async () => {
    const s = await start({});
    const running = post(s.url, { model: 'tiny', prompt: [1], max_tokens: 30_000, seed: 1 });
    await until(
      async () => (await metric(s.url, 'urgate_active_sequences')) === 1,
      'the request to run',
    );
    const closing = s.close(60_000);
    const ready = await fetch(`${s.url}/ready`);
    expect([ready.status, ((await ready.json()) as Json).reason]).toEqual([503, 'draining']);
    const refused = await post(s.url, { model: 'tiny', prompt: [1], max_tokens: 1 });
    expect([refused.status, refused.json.error.code]).toEqual([503, 'draining']);
    const r = await running;
    expect([r.status, r.json.usage.completion_tokens]).toEqual([200, 30_000]);
    await closing;

    const t = await start({});
    const cut = post(t.url, { model: 'tiny', prompt: [1], max_tokens: LONG });
    await until(
      async () => (await metric(t.url, 'urgate_active_sequences')) === 1,
      'the request to run',
    );
    await t.close(50);
    const c = await cut;
    expect([c.status, c.json.error.code]).toEqual([503, 'shutdown']);
  });

  it('the serving process (completions, /gates and the page) loads neither tfjs, @urgate/cells nor the native kernels', async () => {
    const log = `${tiny.dir}/modules.log`;
    const recording = recordingModules(log);
    const child = spawn(
      process.execPath,
      [...recording.args, fileURLToPath(new URL('./child/serve.ts', import.meta.url)), tiny.step],
      { env: recording.env, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const { url } = JSON.parse((await lines.next()).value);
    const g = await post(url, { model: 'tiny', prompt: 'the cat', max_tokens: 3, seed: 1 });
    const sc = await post(url, {
      model: 'tiny',
      prompt: 'the cat',
      max_tokens: 0,
      echo: true,
      logprobs: 0,
    });
    const gates = await fetch(`${url}/gates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'the cat' }),
    });
    const page = await fetch(`${url}/`);
    expect([g.status, sc.status, gates.status, page.status]).toEqual([200, 200, 200, 200]);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    child.stdin.write('stop\n');
    const { closed, cjs } = JSON.parse((await lines.next()).value);
    expect(closed).toBe(true);
    const esm = recordedModules(log);
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
