// Load benchmark of the HTTP server: POST /v1/generate (32 tokens) at concurrency 1, 4 and 16 on
// loopback, a bounded number of requests per level, next to generate() called directly in this
// process (the same onnxruntime work without HTTP, JSON and worker messages) in the same run.
//
//   npm run bench -w @urgate/serve
//   sizes: URGATE_BENCH_VOCAB (8000), URGATE_BENCH_HIDDEN (256), URGATE_BENCH_LAYERS (2),
//          URGATE_BENCH_REQUESTS per level (48), URGATE_BENCH_WORKERS (2), URGATE_BENCH_TOKENS (32)
//
// The model (random UR-LSTM weights, word vocabulary w2..wV) is built with @urgate/cells here, so
// this process holds tfjs; the inference workers do not load it.
import { availableParallelism, cpus, loadavg } from 'node:os';
import { generate, openModel } from '@urgate/onnx/runtime';
import { WordTokenizer } from '@urgate/wikitext';
import { startServer } from '../src/index.js';
import { lmModel } from '../test/fixture.js';

const env = (name: string, fallback: number) =>
  Number(process.env[`URGATE_BENCH_${name}`] ?? fallback);
const V = env('VOCAB', 8000);
const HIDDEN = env('HIDDEN', 256);
const LAYERS = env('LAYERS', 2);
const REQUESTS = env('REQUESTS', 48);
const WORKERS = env('WORKERS', 2);
const TOKENS = env('TOKENS', 32);
const CONCURRENCY = [1, 4, 16];

interface Stats {
  requests: number;
  seconds: number;
  latencies: number[];
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function row(label: string, s: Stats): string {
  const sorted = [...s.latencies].sort((a, b) => a - b);
  const cells = [
    label.padEnd(28),
    (s.requests / s.seconds).toFixed(1).padStart(8),
    ((s.requests * TOKENS) / s.seconds).toFixed(0).padStart(9),
    ...[0.5, 0.9, 0.99].map((q) => quantile(sorted, q).toFixed(1).padStart(8)),
    sorted[sorted.length - 1].toFixed(1).padStart(8),
  ];
  return cells.join(' ');
}

/** Runs `total` calls of `once`, at most `concurrency` at a time; latency per call in ms. */
async function bounded(
  total: number,
  concurrency: number,
  once: (k: number) => Promise<void>,
): Promise<Stats> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const k = next++;
        const t0 = performance.now();
        await once(k);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { requests: total, seconds: (performance.now() - started) / 1000, latencies };
}

const words = ['<unk>', '<eos>', ...Array.from({ length: V - 2 }, (_, k) => `w${k + 2}`)];
const model = await lmModel({
  tokenizer: new WordTokenizer(words),
  hiddenSize: HIDDEN,
  numLayers: LAYERS,
});
const prompt = [1, 2, 3, 4];
const options = (k: number) => ({ maxTokens: TOKENS, temperature: 1, topK: 40, seed: k });

console.log(
  `UR-LSTM ${LAYERS} layers, V = ${V}, E = d = ${HIDDEN}; ${TOKENS} tokens per request after a ${prompt.length}-token prompt; ${REQUESTS} requests per level`,
);
console.log(
  `${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), load average ${loadavg()[0].toFixed(2)} at start; server: ${WORKERS} workers, 1 onnxruntime thread each`,
);
console.log(
  `${'case'.padEnd(28)} ${'req/s'.padStart(8)} ${'tokens/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p90 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}`,
);

// Reference: the same generate() in this process, one request after another (1 onnxruntime thread).
const direct = await openModel(model.step, { intraOpThreads: 1 });
await generate(direct, [prompt], options(0)); // warm-up
console.log(
  row(
    'direct generate(), serial',
    await bounded(REQUESTS, 1, async (k) => {
      await generate(direct, [prompt], options(k));
    }),
  ),
);
await direct.close();

const server = await startServer({
  modelPath: model.step,
  port: 0,
  workers: WORKERS,
  intraOpThreads: 1,
});
const call = async (k: number) => {
  const r = await fetch(`${server.url}/v1/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tokens: prompt, ...options(k) }),
  });
  const body = (await r.json()) as { tokens?: number[]; message?: string };
  if (r.status !== 200 || body.tokens?.length !== TOKENS)
    throw new Error(`request ${k}: HTTP ${r.status} ${body.message ?? ''}`);
};
try {
  await bounded(2 * WORKERS, WORKERS, call); // warm-up: every worker has run once
  for (const c of CONCURRENCY)
    console.log(row(`HTTP /v1/generate, conc. ${c}`, await bounded(REQUESTS, c, call)));
} finally {
  await server.close();
}
