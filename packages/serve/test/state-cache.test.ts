import { generate, openModel } from '@urgate/onnx/runtime';
import { type TinyModel, tinyModel } from '@urgate/test-support';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, StateCache, startServer } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read response bodies field by field
type Json = any;

const state = (fill: number) => ({
  h: new Float32Array(8).fill(fill),
  c: new Float32Array(8).fill(fill),
});

describe('StateCache', () => {
  it('finds the longest cached prefix within the limit, by exact tokens', () => {
    const cache = new StateCache(1 << 20);
    cache.insert([1, 2, 3], state(3));
    cache.insert([1, 2, 3, 4, 5], state(5));
    cache.insert([1, 9], state(9));
    expect(cache.lookup([1, 2, 3, 4, 5, 6], 6)?.length).toBe(5);
    expect(cache.lookup([1, 2, 3, 4, 5, 6], 4)?.length).toBe(3); // the limit excludes 5
    expect(cache.lookup([1, 2, 3, 4, 5], 5)?.state.h[0]).toBe(5);
    expect(cache.lookup([1, 2, 4, 4, 5, 6], 6)).toBeNull(); // same lengths, other tokens
    expect(cache.lookup([7, 7, 7], 3)).toBeNull();
    expect(cache.snapshot()).toMatchObject({ entries: 3, hits: 3, misses: 2, tokensSaved: 13 });
  });

  it('stays within its byte budget, evicting the least recently used; 0 is off', () => {
    // An entry costs 64 bytes of floats + 4 per token + 256 of bookkeeping.
    const cache = new StateCache(3 * (64 + 8 + 256));
    cache.insert([1, 1], state(1));
    cache.insert([2, 2], state(2));
    cache.insert([3, 3], state(3));
    expect(cache.lookup([1, 1, 0], 2)?.length).toBe(2); // [1, 1] is now the most recent
    cache.insert([4, 4], state(4));
    const s = cache.snapshot();
    expect([s.entries, s.evictions, s.bytes <= s.budget]).toEqual([3, 1, true]);
    expect(cache.lookup([2, 2, 0], 2)).toBeNull(); // evicted
    expect(cache.lookup([1, 1, 0], 2)).not.toBeNull();
    const off = new StateCache(0);
    off.insert([1, 1], state(1));
    expect([off.lookup([1, 1, 0], 2), off.snapshot().entries]).toEqual([null, 0]);
  });
});

/** The value of an unlabelled sample in Prometheus text. */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : Number.NaN;
}

describe('the prefix state cache in the server', () => {
  let tiny: TinyModel;
  let cold: RunningServer;
  let warm: RunningServer;
  const client = (s: RunningServer) =>
    new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });

  beforeAll(async () => {
    tiny = await tinyModel();
    // Chunks of 3: cached prefixes end inside chunks, so prefill resumes with a short piece.
    const options = { modelPath: tiny.step, port: 0, prefillChunk: 3 };
    cold = await startServer({ ...options, stateCacheMb: 0 });
    warm = await startServer(options);
  });
  afterAll(async () => {
    await cold?.close();
    await warm?.close();
  });

  it('a prompt that extends an earlier sequence prefills only the rest and answers as a cold run', async () => {
    const prompt = Array.from({ length: 20 }, (_, i) => (i * 5 + 2) % 16);
    const step = await openModel(tiny.step);
    for (const sampling of [{ temperature: 0 }, { temperature: 0.9, top_p: 0.9, seed: 11 }]) {
      // logit_bias names <unk>: the samples are those of generate() (which may sample it).
      const first = { model: 'tiny', prompt, max_tokens: 15, logit_bias: { '0': 0 }, ...sampling };
      const a = await client(cold).completions.create(first);
      const b = await client(warm).completions.create(first);
      expect(b.choices[0].text).toBe(a.choices[0].text);
      // The next request: the first one's prompt, its 15 samples, then 4 more tokens.
      const [samples] = await generate(step, [prompt], {
        maxTokens: 15,
        temperature: sampling.temperature,
        topP: 'top_p' in sampling ? sampling.top_p : 1,
        seed: 'seed' in sampling ? sampling.seed : 0,
      });
      const next = { ...first, prompt: [...prompt, ...samples, 3, 4, 5, 6], max_tokens: 30 };
      const c = await client(cold).completions.create(next);
      const d = await client(warm).completions.create(next);
      expect(d.choices[0].text).toBe(c.choices[0].text);
      expect((c.usage as Json).prompt_tokens_details.cached_tokens).toBe(0);
      // The state after the prompt and 14 samples (the 15th was never read).
      expect((d.usage as Json).prompt_tokens_details.cached_tokens).toBe(20 + 14);
    }
    expect(await metric(warm.url, 'urgate_state_cache_hits_total')).toBeGreaterThanOrEqual(2);
    expect(await metric(warm.url, 'urgate_state_cache_tokens_saved_total')).toBeGreaterThanOrEqual(
      68,
    );
    expect(await metric(warm.url, 'urgate_state_cache_bytes')).toBeGreaterThan(0);
    expect(await metric(cold.url, 'urgate_state_cache_entries')).toBe(0);
    await step.close();
  });

  it('chat: the next turn of a conversation starts from the state the last one ended in', async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'the cat and the dog.' },
      { role: 'user', content: 'a cat sat on the mat?' },
    ];
    const turn = { model: 'tiny', max_tokens: 12, temperature: 0.8, seed: 5 };
    const coldReply = await client(cold).chat.completions.create({ ...turn, messages });
    const warmReply = await client(warm).chat.completions.create({ ...turn, messages });
    expect(warmReply.object).toBe('chat.completion');
    expect(warmReply.choices[0].message).toMatchObject({ role: 'assistant' });
    const content = warmReply.choices[0].message.content as string;
    expect(content).toBe(coldReply.choices[0].message.content);
    expect(content).not.toMatch(/^\s|\n/); // one line, without the space after "Assistant:"
    // Turn 2, streamed: the transcript so far plus a new user line.
    const next = [
      ...messages,
      { role: 'assistant' as const, content },
      { role: 'user' as const, content: 'the dog ran to the house.' },
    ];
    const streamed = async (s: RunningServer) => {
      const stream = await client(s).chat.completions.create({
        ...turn,
        messages: next,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let role: string | undefined;
      let usage: Json = null;
      for await (const chunk of stream) {
        expect(chunk.object).toBe('chat.completion.chunk');
        for (const c of chunk.choices) {
          role ??= c.delta.role;
          text += c.delta.content ?? '';
        }
        if (chunk.usage) usage = chunk.usage;
      }
      return { text, role, usage };
    };
    const c = await streamed(cold);
    const w = await streamed(warm);
    expect(w.text).toBe(c.text);
    expect(w.role).toBe('assistant');
    // Cached: the whole first turn (its transcript and reply); new: the user line and "Assistant:".
    const firstTurnTokens = coldReply.usage?.prompt_tokens as number;
    expect(w.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(firstTurnTokens);
    expect(c.usage.prompt_tokens_details.cached_tokens).toBe(0);
  });

  it('chat refuses what it cannot do, naming the field', async () => {
    const post = async (body: object) => {
      const r = await fetch(`${warm.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny', ...body }),
      });
      return { status: r.status, error: ((await r.json()) as Json).error };
    };
    const user = { role: 'user', content: 'hi' };
    for (const [body, param, message] of [
      [{ messages: [] }, 'messages', /must NOT have fewer than 1 items|at least/],
      [{ messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].role', /must be equal to one/],
      [
        { messages: [{ role: 'user', content: [{ type: 'image_url' }] }] },
        'messages[0].content',
        /only text parts/,
      ],
      [{ messages: [user], logprobs: true }, 'logprobs', /not supported/],
      [{ messages: [user], tools: [] }, 'tools', /unknown field/],
    ] as [object, string, RegExp][]) {
      const r = await post(body);
      expect([r.status, r.error.param]).toEqual([400, param]);
      expect(r.error.message).toMatch(message);
    }
  });
});
