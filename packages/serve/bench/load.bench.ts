// Load benchmark of the HTTP server: streamed POST /v1/completions (max_tokens 256) at concurrency
// 1, 8, 64 and 256 on loopback against a server in a child process (its own event loop, as deployed),
// next to generate() called in this process for one sequence at a time and for 64 at once (what
// the worker's compute allows), in the same run.
//
//   npm run bench -w @urgate/serve
//   model: URGATE_BENCH_MODEL (an exported *.step.onnx, its *.sequence.onnx beside it, e.g. the
//          demo's), else random weights of
//   sizes: URGATE_BENCH_VOCAB (8000), URGATE_BENCH_HIDDEN (256), URGATE_BENCH_LAYERS (2);
//          URGATE_BENCH_TOKENS (256), URGATE_BENCH_REQUESTS (at least this many per level, 16;
//          at concurrency c each client sends max(2, ceil(REQUESTS / c)) one after another),
//          URGATE_BENCH_WORKERS (1), URGATE_BENCH_THREADS (onnxruntime threads per worker, 1),
//          URGATE_BENCH_STREAM_INTERVAL (the server's streamInterval, ms, 0)
//
// The random-weights model (UR-LSTM, word vocabulary w2..wV) is built with @urgate/cells here, so
// this process holds tfjs; the server process does not load it.
import { basename } from 'node:path';
import { benchList, benchSize, machine, quantile } from '@urgate/bench';
import { generate, openModel } from '@urgate/onnx/runtime';
import { benchModel, serverProcess } from './harness.js';

const TOKENS = benchSize('TOKENS', 256);
const REQUESTS = benchSize('REQUESTS', 16);
const rounds = (c: number) => Math.max(2, Math.ceil(REQUESTS / c));
const WORKERS = benchSize('WORKERS', 1);
const THREADS = benchSize('THREADS', 1);
const STREAM_INTERVAL = benchSize('STREAM_INTERVAL', 0);
const CONCURRENCY = benchList('CONCURRENCY', [1, 8, 64, 256]);

interface Stats {
  /** Requests refused with 429 (not in the latencies). */
  refused: number;
  tokens: number;
  seconds: number;
  latencies: number[];
  ttft: number[];
}

const header = [
  'case'.padEnd(34),
  'requests'.padStart(8),
  'tokens/s'.padStart(9),
  'x conc.1'.padStart(8),
  'p50 ms'.padStart(8),
  'p99 ms'.padStart(8),
  'TTFT p50'.padStart(9),
  'TTFT p99'.padStart(9),
  '429s'.padStart(5),
].join(' ');

function row(label: string, s: Stats, base: number | null): string {
  const rate = s.tokens / s.seconds;
  return [
    label.padEnd(34),
    String(s.latencies.length).padStart(8),
    rate.toFixed(0).padStart(9),
    (base ? `${(rate / base).toFixed(2)}x` : '').padStart(8),
    quantile(s.latencies, 0.5).toFixed(0).padStart(8),
    quantile(s.latencies, 0.99).toFixed(0).padStart(8),
    (s.ttft.length ? quantile(s.ttft, 0.5).toFixed(1) : '').padStart(9),
    (s.ttft.length ? quantile(s.ttft, 0.99).toFixed(1) : '').padStart(9),
    String(s.refused).padStart(5),
  ].join(' ');
}

/** `clients` loops of `rounds` calls each, all at once; latency and TTFT per call in ms. */
async function load(
  clients: number,
  rounds: number,
  once: (k: number) => Promise<{ tokens: number; ttft: number | null } | 'refused'>,
): Promise<Stats> {
  const stats: Stats = { refused: 0, tokens: 0, seconds: 0, latencies: [], ttft: [] };
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let r = 0; r < rounds; r++) {
        const t0 = performance.now();
        const result = await once(c * rounds + r);
        if (result === 'refused') {
          stats.refused++;
          continue;
        }
        const { tokens, ttft } = result;
        stats.latencies.push(performance.now() - t0);
        if (ttft !== null) stats.ttft.push(ttft - t0);
        stats.tokens += tokens;
      }
    }),
  );
  stats.seconds = (performance.now() - started) / 1000;
  return stats;
}

const stepPath = (await benchModel()).step;
const modelId = basename(stepPath).replace(/(\.step)?\.onnx$/, '');
const direct = await openModel(stepPath, { intraOpThreads: THREADS });
const shape = direct.metadata.model;
const vocab = shape.vocabSize as number;
/**
 * The n-th prompt sent: 8 tokens of its own (after `<eos>`), so that no request continues another's
 * cached state and every time to first token includes the prompt's prefill.
 */
const promptFor = (n: number) => [
  1,
  ...Array.from({ length: 7 }, (_, i) => 2 + ((n * 7919 + i * 104729) % (vocab - 2))),
];
let prompts = 0;
const nextPrompt = () => promptFor(prompts++);
const tokenizer = (direct.metadata.tokenizer as { kind?: string } | null)?.kind ?? 'none';
console.log(
  `UR-LSTM ${shape.numLayers} layer(s), V = ${shape.vocabSize} (${tokenizer} tokenizer), d = ${shape.hiddenSize}, ${shape.tiedEmbeddings ? 'tied' : 'untied'} embeddings (${process.env.URGATE_BENCH_MODEL ?? 'random weights'}); streamed completions of max_tokens ${TOKENS} after an 8-token prompt of its own, temperature 1; at least ${REQUESTS} requests per level`,
);
console.log(
  `${machine()} at start; server (child process): ${WORKERS} worker(s), ${THREADS} onnxruntime thread(s) each, streamInterval ${STREAM_INTERVAL} ms`,
);
console.log(header);

// Reference: generate() in this process for one sequence at a time.
await generate(direct, [nextPrompt()], { maxTokens: 16 }); // warm-up
const reference = await load(1, rounds(1), async (k) => {
  const [out] = await generate(direct, [nextPrompt()], { maxTokens: TOKENS, seed: k });
  return { tokens: out.length, ttft: null };
});
console.log(row('in-process generate(), B = 1', reference, null));
// The compute ceiling of one worker at the largest concurrency: 64 sequences in one generate().
const wide = await load(1, 2, async (k) => {
  const batch = Array.from({ length: 64 }, nextPrompt);
  const out = await generate(direct, batch, { maxTokens: TOKENS, seed: k });
  return { tokens: out.reduce((s, o) => s + o.length, 0), ttft: null };
});
console.log(row('in-process generate(), B = 64', wide, reference.tokens / reference.seconds));
await direct.close();

const server = await serverProcess(stepPath, {
  workers: WORKERS,
  intraOpThreads: THREADS,
  streamInterval: STREAM_INTERVAL,
  maxBatch: 64,
  maxQueue: 256,
});
const { url } = server;

/** One streamed completion: tokens from the usage chunk, time of the first chunk with text. */
const call = async (k: number) => {
  const r = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: modelId,
      prompt: nextPrompt(),
      max_tokens: TOKENS,
      seed: k,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (r.status === 429) {
    await r.arrayBuffer();
    return 'refused' as const;
  }
  if (r.status !== 200 || !r.body)
    throw new Error(`request ${k}: HTTP ${r.status} ${await r.text()}`);
  let ttft: number | null = null;
  let buffered = '';
  let tokens = 0;
  const decoder = new TextDecoder();
  for await (const bytes of r.body) {
    ttft ??= performance.now();
    buffered += decoder.decode(bytes, { stream: true });
    const events = buffered.split('\n\n');
    buffered = events.pop() as string;
    for (const e of events) {
      // Only the usage chunk and errors are read: parsing every chunk would take CPU from the
      // server on the same cores.
      if (!e.startsWith('data: {') || !(e.includes('"usage":{') || e.includes('"error":{')))
        continue;
      const chunk = JSON.parse(e.slice(6));
      if (chunk.error) throw new Error(`request ${k}: ${chunk.error.message}`);
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
  }
  if (tokens !== TOKENS) throw new Error(`request ${k}: ${tokens} tokens, expected ${TOKENS}`);
  return { tokens, ttft };
};

try {
  await load(4, 1, call); // warm-up
  let base: number | null = null;
  for (const c of CONCURRENCY) {
    const s = await load(c, rounds(c), call);
    base ??= s.tokens / s.seconds;
    console.log(row(`HTTP streamed, concurrency ${c}`, s, base));
  }
} finally {
  await server.stop();
}
console.log(`${machine()} at the end`);
