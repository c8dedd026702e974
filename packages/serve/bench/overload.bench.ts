// Overload benchmark of the wait bound: 64, 256 and 512 clients, each sending 2 streamed
// completions one after the other (closed loop, no retries), against a server with
// `maxQueueWait` 5 s and against one without a wait bound, in the same run. Per level: requests
// answered (200) and refused (429, by reason), the Retry-After values given, and the latency of
// the answered ones.
//
//   npm run bench:overload -w @urgate/serve
//   sizes: URGATE_BENCH_VOCAB (8000), URGATE_BENCH_HIDDEN (256), URGATE_BENCH_LAYERS (2),
//          URGATE_BENCH_TOKENS (128), URGATE_BENCH_BOUND (5 s), URGATE_BENCH_CLIENTS (64,256,512)
//
// The server runs in a child process (1 worker, 1 onnxruntime thread, maxBatch 64, maxQueue 1024
// so that the count bound never decides here); the model (random UR-LSTM weights) is built here.
import { benchList, benchSize, machine, quantile } from '@urgate/bench';
import { benchModel, HIDDEN, LAYERS, serverProcess, V } from './harness.js';

const TOKENS = benchSize('TOKENS', 128);
const BOUND = benchSize('BOUND', 5);
const CLIENTS = benchList('CLIENTS', [64, 256, 512]);
const ROUNDS = 2;

interface Outcome {
  status: number;
  /** ms from sending to the last byte. */
  ms: number;
  code: string | null;
  retryAfter: number | null;
}

const model = await benchModel();
const prompt = [1, 2, 3, 4, 5, 6, 7, 8];

const startChild = (maxQueueWait: number) =>
  serverProcess(model.step, { maxBatch: 64, maxQueue: 1024, maxQueueWait, maxTokensLimit: TOKENS });

/** One streamed completion read to its end. */
async function call(url: string, k: number): Promise<Outcome> {
  const t0 = performance.now();
  const r = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny', prompt, max_tokens: TOKENS, seed: k, stream: true }),
  });
  if (r.status !== 200) {
    const body = (await r.json()) as { error: { code: string | null } };
    const retry = r.headers.get('retry-after');
    return {
      status: r.status,
      ms: performance.now() - t0,
      code: body.error.code,
      retryAfter: retry === null ? null : Number(retry),
    };
  }
  let tail = '';
  for await (const bytes of r.body as ReadableStream<Uint8Array>)
    tail = (tail + new TextDecoder().decode(bytes)).slice(-64);
  if (!tail.includes('[DONE]')) throw new Error(`request ${k}: the stream ended without [DONE]`);
  return { status: 200, ms: performance.now() - t0, code: null, retryAfter: null };
}

async function level(url: string, clients: number): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let r = 0; r < ROUNDS; r++) outcomes.push(await call(url, c * ROUNDS + r));
    }),
  );
  return outcomes;
}

const header = [
  'wait bound'.padEnd(10),
  'clients'.padStart(7),
  'requests'.padStart(8),
  'answered'.padStart(8),
  '429'.padStart(5),
  '(estimate / timeout)'.padStart(20),
  'Retry-After s (min-p50-max)'.padStart(27),
  'p50 ms'.padStart(7),
  'p99 ms'.padStart(7),
  'max ms'.padStart(7),
  'wall s'.padStart(7),
].join(' ');

function row(bound: string, clients: number, outcomes: Outcome[], seconds: number): string {
  const answered = outcomes.filter((o) => o.status === 200);
  const refused = outcomes.filter((o) => o.status === 429);
  const other = outcomes.filter((o) => o.status !== 200 && o.status !== 429);
  if (other.length > 0)
    throw new Error(`unexpected answers: ${other.map((o) => `${o.status} ${o.code}`).join(', ')}`);
  const retries = refused.map((o) => o.retryAfter ?? Number.NaN);
  const ms = answered.map((o) => o.ms);
  const count = (code: string) => refused.filter((o) => o.code === code).length;
  return [
    bound.padEnd(10),
    String(clients).padStart(7),
    String(outcomes.length).padStart(8),
    String(answered.length).padStart(8),
    String(refused.length).padStart(5),
    `${count('estimated_wait')} / ${count('queue_timeout')}`.padStart(20),
    (retries.length
      ? `${quantile(retries, 0)}-${quantile(retries, 0.5)}-${quantile(retries, 1)}`
      : ''
    ).padStart(27),
    quantile(ms, 0.5).toFixed(0).padStart(7),
    quantile(ms, 0.99).toFixed(0).padStart(7),
    quantile(ms, 1).toFixed(0).padStart(7),
    seconds.toFixed(1).padStart(7),
  ].join(' ');
}

console.log(
  `UR-LSTM ${LAYERS} layers, V = ${V}, E = d = ${HIDDEN}; streamed completions of max_tokens ${TOKENS} after a ${prompt.length}-token prompt; ${ROUNDS} requests per client, one after the other, no retries`,
);
console.log(
  `${machine()} at start; server (child process): 1 worker, 1 onnxruntime thread, maxBatch 64, maxQueue 1024`,
);
console.log(header);
for (const bound of [BOUND, 0]) {
  const server = await startChild(bound * 1000);
  try {
    await level(server.url, 4); // warm-up
    for (const clients of CLIENTS) {
      const t0 = performance.now();
      const outcomes = await level(server.url, clients);
      const label = bound > 0 ? `${bound} s` : 'none';
      console.log(row(label, clients, outcomes, (performance.now() - t0) / 1000));
    }
  } finally {
    await server.stop();
  }
}
console.log(`${machine()} at the end`);
