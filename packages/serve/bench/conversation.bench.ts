// Benchmark of the prefix state cache: a 20-turn chat conversation (~200 tokens a turn) sent to two
// servers in child processes, one with the cache off and one with it on, turn by turn in the same
// run: time to first token of each turn and whether the replies are identical. Then the cache at
// its budget: many distinct prompts through a server with a small cache, its bytes and the
// process RSS.
//
//   npm run bench:conversation -w @urgate/serve
//   sizes: URGATE_BENCH_VOCAB (8000), URGATE_BENCH_HIDDEN (256), URGATE_BENCH_LAYERS (2),
//          URGATE_BENCH_TURNS (20), URGATE_BENCH_USER_WORDS (100), URGATE_BENCH_REPLY (100),
//          URGATE_BENCH_BUDGET_MB (4, for the budget phase), URGATE_BENCH_FILL (600 prompts)
import { benchSize, machine } from '@urgate/bench';
import { benchModel, HIDDEN, LAYERS, serverProcess, V, words } from './harness.js';

const TURNS = benchSize('TURNS', 20);
const USER_WORDS = benchSize('USER_WORDS', 100);
const REPLY = benchSize('REPLY', 100);
const BUDGET_MB = benchSize('BUDGET_MB', 4);
const FILL = benchSize('FILL', 600);

/** A sample of Prometheus text whose name ends with `suffix` (prom-client prefixes vary). */
async function metric(url: string, suffix: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => !l.startsWith('#') && l.split(' ')[0].endsWith(suffix));
  return line ? Number(line.split(' ')[1]) : Number.NaN;
}

interface Turn {
  content: string;
  ttft: number;
  promptTokens: number;
  cachedTokens: number;
}

/** One streamed chat turn: the reply, and the time to its first content. */
async function turn(url: string, messages: object[], seed: number): Promise<Turn> {
  const t0 = performance.now();
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'tiny',
      messages,
      max_tokens: REPLY,
      temperature: 0.8,
      seed,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (r.status !== 200 || !r.body) throw new Error(`HTTP ${r.status} ${await r.text()}`);
  let ttft = Number.NaN;
  let content = '';
  let usage = { prompt_tokens: 0, prompt_tokens_details: { cached_tokens: 0 } };
  let buffered = '';
  const decoder = new TextDecoder();
  for await (const bytes of r.body) {
    buffered += decoder.decode(bytes, { stream: true });
    const events = buffered.split('\n\n');
    buffered = events.pop() as string;
    for (const e of events) {
      if (!e.startsWith('data: {')) continue;
      const chunk = JSON.parse(e.slice(6));
      if (chunk.error) throw new Error(chunk.error.message);
      const piece = chunk.choices[0]?.delta?.content ?? '';
      if (piece !== '' && Number.isNaN(ttft)) ttft = performance.now() - t0;
      content += piece;
      if (chunk.usage) usage = chunk.usage;
    }
  }
  return {
    content,
    ttft,
    promptTokens: usage.prompt_tokens,
    cachedTokens: usage.prompt_tokens_details.cached_tokens,
  };
}

const model = await benchModel();
let seed = 1;
const userLine = () =>
  Array.from({ length: USER_WORDS }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return words[2 + (seed % (V - 2))];
  }).join(' ');

console.log(
  `UR-LSTM ${LAYERS} layers, V = ${V}, E = d = ${HIDDEN} (random weights); ${TURNS} chat turns of a ${USER_WORDS}-word user line and a reply of up to ${REPLY} tokens (temperature 0.8, seeded), streamed`,
);
console.log(`${machine()} at start; each server a child process, 1 worker, 1 onnxruntime thread`);
const base = { workers: 1, intraOpThreads: 1, maxTokensLimit: 4096 };
const cold = await serverProcess(model.step, { ...base, stateCacheMb: 0 });
const warm = await serverProcess(model.step, { ...base, stateCacheMb: 256 });
const messages: object[] = [{ role: 'system', content: userLine() }];
let identical = 0;
console.log(
  [
    'turn',
    'prompt tokens',
    'cached (on)',
    'TTFT off ms',
    'TTFT on ms',
    'off / on',
    'same reply',
  ].join(' | '),
);
try {
  await turn(warm.url, [{ role: 'user', content: 'w2 w3' }], 0); // warm-up, both
  await turn(cold.url, [{ role: 'user', content: 'w2 w3' }], 0);
  for (let t = 1; t <= TURNS; t++) {
    messages.push({ role: 'user', content: userLine() });
    const off = await turn(cold.url, messages, t);
    const on = await turn(warm.url, messages, t);
    const same = off.content === on.content;
    if (same) identical++;
    console.log(
      [
        String(t).padStart(4),
        String(off.promptTokens).padStart(13),
        String(on.cachedTokens).padStart(11),
        off.ttft.toFixed(1).padStart(11),
        on.ttft.toFixed(1).padStart(10),
        `${(off.ttft / on.ttft).toFixed(1)}x`.padStart(8),
        same ? 'yes' : 'NO',
      ].join(' | '),
    );
    messages.push({ role: 'assistant', content: off.content });
  }
  console.log(`identical replies with and without the cache: ${identical} of ${TURNS}`);
} finally {
  await cold.stop();
  await warm.stop();
}

// The cache at its budget: FILL distinct prompts of ~200 tokens, 16 at a time.
const small = await serverProcess(model.step, { ...base, stateCacheMb: BUDGET_MB });
try {
  const rssBefore = await metric(small.url, 'resident_memory_bytes');
  const queue = Array.from({ length: FILL }, (_, k) => k);
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let k = queue.shift(); k !== undefined; k = queue.shift()) {
        const r = await fetch(`${small.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'tiny',
            prompt: `${userLine()} ${userLine()}`,
            max_tokens: 4,
          }),
        });
        if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
        await r.arrayBuffer();
      }
    }),
  );
  const mb = (x: number) => (x / 2 ** 20).toFixed(2);
  console.log(
    `cache at its budget (${BUDGET_MB} MiB): after ${FILL} prompts of ${2 * USER_WORDS + 1} tokens: ${await metric(small.url, 'state_cache_entries')} states, ${mb(await metric(small.url, 'state_cache_bytes'))} MiB held, ${await metric(small.url, 'state_cache_evictions_total')} evicted; server RSS ${mb(rssBefore)} MiB at start, ${mb(await metric(small.url, 'resident_memory_bytes'))} MiB after`,
  );
} finally {
  await small.stop();
}
