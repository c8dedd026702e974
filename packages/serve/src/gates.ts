// `POST /gates`: the effective forget gate of every layer, token and unit of a text, computed by the
// model's gates graph (`<name>.gates.onnx`) in its own worker thread, with the model's initial
// decay-period distribution to compare against (the paper's Figure 4 and Table 4, live).
import type { Worker } from 'node:worker_threads';
import { MECHANISM_TABLE, type Mechanism } from '@urgate/contract';
import type { UrgateOnnxMetadata } from '@urgate/onnx/runtime';
import type { Tokenizer } from '@urgate/wikitext';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.js';
import type { GatesWorkerConfig, GatesWorkerMessage, GatesWorkerRequest } from './gates-worker.js';
import { OverloadError } from './scheduler.js';
import { Detokenizer, encodePrompt } from './text.js';
import { startWorker } from './threads.js';

/** Forget gates `[layer][token][unit]` as the worker returns them: flat, layer-major. */
export interface GateValues {
  values: Float32Array;
  dims: [layers: number, tokens: number, units: number];
}

interface Job {
  id: number;
  tokens: number[];
  resolve: (r: GateValues) => void;
  reject: (e: Error) => void;
}

/**
 * One worker thread running the gates graph, one text at a time, behind a bounded FIFO queue
 * (beyond it, 429). A queued text whose client has gone is dropped; a crashed worker fails the text
 * it ran and is started again.
 */
export class GateRunner {
  private worker: Worker;
  private readonly queue: Job[] = [];
  private running: Job | null = null;
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly config: GatesWorkerConfig,
    worker: Worker,
    readonly metadata: UrgateOnnxMetadata,
    private readonly maxQueue: number,
  ) {
    this.worker = worker;
    this.attach();
  }

  static async start(config: GatesWorkerConfig, maxQueue: number): Promise<GateRunner> {
    const { worker, metadata } = await spawn(config);
    return new GateRunner(config, worker, metadata, maxQueue);
  }

  /** Texts waiting behind the one running. */
  get queued(): number {
    return this.queue.length;
  }

  /** Runs `tokens` through the gates graph; `signal` drops it while it still waits. */
  run(tokens: number[], signal?: AbortSignal): Promise<GateValues> {
    if (this.closed) return Promise.reject(new Error('the server is shutting down'));
    if (this.running && this.queue.length >= this.maxQueue)
      return Promise.reject(
        new OverloadError('queue_full', 1, 'the gates worker is busy (queue full); retry later'),
      );
    return new Promise((resolve, reject) => {
      const job: Job = { id: this.nextId++, tokens, resolve, reject };
      this.queue.push(job);
      signal?.addEventListener('abort', () => {
        const k = this.queue.indexOf(job);
        if (k >= 0) this.queue.splice(k, 1);
      });
      this.next();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('the server is shutting down'));
    await this.worker.terminate();
  }

  private next(): void {
    if (this.running || this.closed) return;
    const job = this.queue.shift();
    if (!job) return;
    this.running = job;
    this.worker.postMessage({ id: job.id, tokens: job.tokens } satisfies GatesWorkerRequest);
  }

  private attach(): void {
    const worker = this.worker;
    worker.on('message', (m: GatesWorkerMessage) => {
      const job = this.running;
      if (!job || (m.type !== 'result' && m.type !== 'error') || m.id !== job.id) return;
      this.running = null;
      if (m.type === 'result') job.resolve({ values: m.values, dims: m.dims });
      else job.reject(new Error(m.message));
      this.next();
    });
    let crash: Error | null = null;
    worker.on('error', (e) => {
      crash = e;
    });
    worker.once('exit', (code) => {
      if (this.closed) return;
      const job = this.running;
      this.running = null;
      const why = crash ? `: ${(crash as Error).message}` : '';
      job?.reject(new Error(`gates worker exited (code ${code}${why}) while running the text`));
      spawn(this.config).then(
        ({ worker: replacement }) => {
          this.worker = replacement;
          this.attach();
          this.next();
        },
        (e: Error) => {
          for (const waiting of this.queue.splice(0)) waiting.reject(e);
        },
      );
    });
  }
}

function spawn(
  config: GatesWorkerConfig,
): Promise<{ worker: Worker; metadata: UrgateOnnxMetadata }> {
  return new Promise((resolve, reject) => {
    const worker = startWorker('gates-worker', config);
    const fail = (error: Error) => {
      worker.off('message', onMessage);
      void worker.terminate();
      reject(error);
    };
    const onMessage = (m: GatesWorkerMessage) => {
      if (m.type === 'failed') fail(new Error(m.message));
      else if (m.type === 'ready') {
        worker.off('message', onMessage);
        worker.off('error', fail);
        resolve({ worker, metadata: m.metadata });
      }
    };
    worker.on('message', onMessage);
    worker.once('error', fail);
  });
}

/**
 * The decay periods D = 1/(1 - f) the model's forget gate f starts from (the paper's Table 4), by
 * its mechanism's initialisation: a point mass at 1 + e for the standard bias 1; uniform on
 * [2, Tmax] for chrono; density ∝ 1/D² on [d/(d-1), d] for UGI (u ~ U[1/d, 1-1/d]) and for
 * cumax's initial ramp f_j = j/d. For R-/UR-/OR- this is the distribution of f before refinement,
 * for UM- that of the master forget gate.
 */
export type InitialDecay =
  | { kind: 'point'; at: number; description: string }
  | { kind: 'uniform'; from: number; to: number; description: string }
  | { kind: 'inverse-square'; from: number; to: number; description: string };

export function initialDecay(model: UrgateOnnxMetadata['model']): InitialDecay {
  const d = model.hiddenSize;
  const mechanism = model.mechanism as Mechanism;
  const row = MECHANISM_TABLE[mechanism];
  if (!row) throw new Error(`model.mechanism: unknown mechanism ${JSON.stringify(mechanism)}`);
  const ramp = { from: d / (d - 1), to: d };
  switch (row.init) {
    case 'standard':
      return {
        kind: 'point',
        at: 1 + Math.E,
        description: 'forget bias 1: D = 1 + e at every unit',
      };
    case 'chrono': {
      const tMax = typeof model.tMax === 'number' ? model.tMax : d;
      return {
        kind: 'uniform',
        from: 2,
        to: tMax,
        description: `chrono: D uniform on [2, Tmax = ${tMax}]`,
      };
    }
    case 'uniform':
      return { kind: 'inverse-square', ...ramp, description: 'UGI: density ∝ 1/D² (Pareto α = 2)' };
    case 'uniformMaster':
      return {
        kind: 'inverse-square',
        ...ramp,
        description: 'UGI master forget gate: density ∝ 1/D²',
      };
    case 'zero':
      return {
        kind: 'inverse-square',
        ...ramp,
        description: 'cumax of zero pre-activations: density ∝ 1/D²',
      };
  }
}

export interface GatesContext {
  runner: GateRunner | null;
  /** Why there is no runner (no gates graph next to the step graph). */
  runnerReason: string;
  tokenizer: Tokenizer | null;
  tokenizerReason: string | null;
  model: UrgateOnnxMetadata['model'];
  /** Largest text in tokens (with the leading `<eos>`). */
  maxTokens: number;
  draining: () => boolean;
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;

/** Registers `POST /gates`: `{prompt}` -> `{tokens, ids, forget[layer][token][unit], initial}`. */
export function gatesRoute(app: FastifyInstance, ctx: GatesContext): void {
  const initial = initialDecay(ctx.model);
  app.post(
    '/gates',
    {
      schema: {
        body: {
          type: 'object',
          required: ['prompt'],
          additionalProperties: false,
          properties: { prompt: { type: 'string', minLength: 1 } },
        },
      },
    },
    async (request, reply) => {
      if (ctx.draining()) throw new ApiError(503, 'the server is shutting down', { retryAfter: 1 });
      if (!ctx.runner)
        throw new ApiError(404, `POST /gates: ${ctx.runnerReason}`, { code: 'no_gates_graph' });
      if (!ctx.tokenizer)
        throw new ApiError(400, `prompt: text cannot be read: ${ctx.tokenizerReason}`, {
          param: 'prompt',
        });
      const { prompt } = request.body as { prompt: string };
      const ids = encodePrompt(ctx.tokenizer, prompt);
      if (ids.length > ctx.maxTokens)
        throw new ApiError(
          400,
          `prompt: ${ids.length} tokens (with the leading <eos>); /gates reads at most ${ctx.maxTokens}`,
          { param: 'prompt', code: 'prompt_too_long' },
        );
      const gone = new AbortController();
      reply.raw.once('close', () => gone.abort());
      let r: GateValues;
      try {
        r = await ctx.runner.run(ids, gone.signal);
      } catch (e) {
        if (e instanceof OverloadError)
          throw new ApiError(429, e.message, { code: e.reason, retryAfter: e.retryAfter });
        throw e;
      }
      const [L, T, d] = r.dims;
      const forget = Array.from({ length: L }, (_, l) =>
        Array.from({ length: T }, (_, t) =>
          Array.from(r.values.subarray((l * T + t) * d, (l * T + t + 1) * d), round6),
        ),
      );
      const text = new Detokenizer(ctx.tokenizer);
      const tokens = ids.map((id) => text.push(id));
      // A word the detokenizer held to the end (SentencePiece) belongs to the last token.
      tokens[tokens.length - 1] += text.flush();
      return {
        tokens,
        ids,
        forget,
        initial,
      };
    },
  );
}
