import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, openModel, type UrgateModel } from '@urgate/onnx/runtime';
import { type TinyModel, tinyModel } from '@urgate/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detokenize, encodePrompt, type RunningServer, startServer } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read response bodies field by field
type Json = any;

async function call(
  server: RunningServer,
  method: string,
  path: string,
  body?: object,
): Promise<{ status: number; json: Json }> {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify({ model: 'tiny', ...body }) : undefined,
  });
  return { status: r.status, json: await r.json() };
}

describe('saved states: save_state, from_state, /v1/states', () => {
  let tiny: TinyModel;
  let dir: string;
  let server: RunningServer;
  let step: UrgateModel;

  beforeAll(async () => {
    tiny = await tinyModel();
    dir = await mkdtemp(join(tmpdir(), 'urgate-states-'));
    server = await startServer({ modelPath: tiny.step, port: 0, prefillChunk: 3, stateDir: dir });
    step = await openModel(tiny.step);
  });
  afterAll(async () => {
    await server?.close();
    await step?.close();
  });

  it('a saved state continues as the whole sequence would, after a restart too; listed, shown, deleted', async () => {
    // logit_bias names <unk>: samples are generate()'s for the same seed.
    const saveRequest = {
      prompt: 'the cat sat on the mat',
      max_tokens: 8,
      seed: 3,
      logit_bias: { '0': 0 },
      save_state: 'intro',
    };
    expect((await call(server, 'POST', '/v1/completions', saveRequest)).status).toBe(200);
    const promptIds = encodePrompt(tiny.tokenizer, saveRequest.prompt);
    const [sampled] = await generate(step, [promptIds], { maxTokens: 8, seed: 3 });
    const saved = [...promptIds, ...sampled];
    const listed = await call(server, 'GET', '/v1/states');
    expect(listed.json.data).toEqual([
      expect.objectContaining({ name: 'intro', tokens: saved.length, read: saved.length - 1 }),
    ]);
    const shown = await call(server, 'GET', '/v1/states/intro');
    expect(shown.json.text).toBe(detokenize(tiny.tokenizer, saved));

    // Continue with more text: the answer is the continuation of the whole sequence.
    const more = { prompt: ' the dog ran', max_tokens: 10, seed: 9, logit_bias: { '0': 0 } };
    const whole = [...saved, ...encodePrompt(tiny.tokenizer, more.prompt).slice(1)];
    const [expected] = await generate(step, [whole], { maxTokens: 10, seed: 9 });
    const text = detokenize(tiny.tokenizer, [...whole, ...expected]).slice(
      detokenize(tiny.tokenizer, whole).length,
    );
    const continued = await call(server, 'POST', '/v1/completions', {
      ...more,
      from_state: 'intro',
    });
    expect(continued.json.choices[0].text).toBe(text);
    expect(continued.json.usage.prompt_tokens).toBe(whole.length);
    expect(continued.json.usage.prompt_tokens_details.cached_tokens).toBe(saved.length - 1);

    // A restarted server reads the state from its file.
    await server.close();
    server = await startServer({ modelPath: tiny.step, port: 0, stateDir: dir, stateCacheMb: 0 });
    const again = await call(server, 'POST', '/v1/completions', { ...more, from_state: 'intro' });
    expect(again.json.choices[0].text).toBe(text);

    expect(await call(server, 'DELETE', '/v1/states/intro')).toMatchObject({
      status: 200,
      json: { name: 'intro', deleted: true },
    });
    const gone = await call(server, 'POST', '/v1/completions', { ...more, from_state: 'intro' });
    expect([gone.status, gone.json.error.code]).toEqual([404, 'state_not_found']);
    expect((await call(server, 'DELETE', '/v1/states/intro')).status).toBe(404);
  });

  it('a damaged state file is refused by name; bad names and misuse get 400', async () => {
    await call(server, 'POST', '/v1/completions', {
      prompt: [1, 2, 3, 4],
      max_tokens: 2,
      save_state: 'doc.v1',
    });
    const path = join(dir, 'doc.v1.state.json');
    const file = JSON.parse(await readFile(path, 'utf8'));
    file.tokens[1] = 5; // one token changed: the checksum no longer matches
    await writeFile(path, JSON.stringify(file));
    const r = await call(server, 'POST', '/v1/completions', {
      prompt: [3],
      from_state: 'doc.v1',
    });
    expect([r.status, r.json.error.code]).toEqual([422, 'state_damaged']);
    expect(r.json.error.message).toContain(path);
    expect(r.json.error.message).toMatch(/sha256 does not match/);
    const listed = await call(server, 'GET', '/v1/states');
    expect(listed.json.data).toEqual([
      expect.objectContaining({ name: 'doc.v1', error: expect.stringContaining(path) }),
    ]);
    for (const [body, param, message] of [
      [{ prompt: [1, 2], save_state: '../x' }, 'save_state', /is not a state name/],
      [{ prompt: ['a', 'b'], save_state: 'x' }, 'save_state', /one prompt and n = 1/],
      [{ prompt: [1, 2], n: 2, from_state: 'x' }, 'from_state', /one prompt and n = 1/],
      [{ prompt: [1, 2], echo: true, from_state: 'doc.v1' }, 'echo', /not supported/],
    ] as [object, string, RegExp][]) {
      const bad = await call(server, 'POST', '/v1/completions', body);
      expect([bad.status, bad.json.error.message]).toEqual([400, expect.stringMatching(message)]);
      if (bad.json.error.param) expect(bad.json.error.param).toBe(param);
    }
  });

  it('without a state directory the state API is off, saying how to turn it on', async () => {
    const off = await startServer({ modelPath: tiny.step, port: 0 });
    try {
      const r = await call(off, 'POST', '/v1/completions', { prompt: [1, 2], save_state: 'x' });
      expect([r.status, r.json.error.param]).toEqual([400, 'save_state']);
      expect(r.json.error.message).toMatch(/--state-dir/);
      expect((await call(off, 'GET', '/v1/states')).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
