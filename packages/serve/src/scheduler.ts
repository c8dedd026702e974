// The server thread's side of continuous batching: a bounded FIFO queue of requests whose
// sequences are handed to the inference workers as batch rows free up. Each worker batches the
// sequences it holds (src/worker.ts); this file decides which worker holds which.
import { Worker } from 'node:worker_threads';
import type { UrgateOnnxMetadata } from '@urgate/onnx/runtime';
import type {
  SequenceEvent,
  SequenceSpec,
  WorkerConfig,
  WorkerMessage,
  WorkerRequest,
} from './protocol.js';

// Running from the TypeScript sources (tests): the worker is worker.ts, loaded through the
// package's dev hooks with the same source export condition; built: dist/worker.js as is.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './worker.ts' : './worker.js', import.meta.url);
const SOURCE_FLAGS = [
  '--import',
  new URL('../dev/register-source.mjs', import.meta.url).href,
  '--conditions=@urgate/source',
];
const WORKER_EXEC_ARGV =
  FROM_SOURCE && !process.execArgv.includes(SOURCE_FLAGS[1])
    ? [...process.execArgv, ...SOURCE_FLAGS]
    : undefined; // inherit the process's

export interface ModelMetadata {
  step: UrgateOnnxMetadata;
  sequence: UrgateOnnxMetadata | null;
  /** The graphs reach bit-identical states (null: no sequence graph). */
  graphsAgree: boolean | null;
}

function spawn(config: WorkerConfig): Promise<{ worker: Worker; metadata: ModelMetadata }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: config, execArgv: WORKER_EXEC_ARGV });
    const fail = (error: Error) => {
      worker.off('message', onMessage);
      void worker.terminate();
      reject(error);
    };
    const onMessage = (m: WorkerMessage) => {
      if (m.type === 'failed') fail(new Error(m.message));
      else if (m.type === 'ready') {
        worker.off('message', onMessage);
        worker.off('error', fail);
        resolve({
          worker,
          metadata: { step: m.step, sequence: m.sequence, graphsAgree: m.graphsAgree },
        });
      }
    };
    worker.on('message', onMessage);
    worker.once('error', fail);
  });
}

/** The queue is full: answer 429 with `Retry-After: retryAfter` seconds. */
export class QueueFullError extends Error {
  constructor(readonly retryAfter: number) {
    super('the server is at capacity (request queue full); retry later');
  }
}

/** What a request's sequences report: events of sequence `index` (its place in `submit`'s list). */
export type SequenceListener = (index: number, event: SequenceEvent) => void;

/**
 * A submitted request: `cancel()` drops its queued sequences and stops its running ones; `stop(i)`
 * stops sequence i alone (its choice is complete, e.g. at a stop string).
 */
export interface Ticket {
  cancel(): void;
  stop(index: number): void;
}

interface Submission {
  specs: Omit<SequenceSpec, 'id'>[];
  listener: SequenceListener;
  /** Sequences handed to a worker so far (they are admitted in order). */
  admitted: number;
  /** Sequences not yet done. */
  open: number;
  cancelled: boolean;
}

interface Slot {
  worker: Worker;
  /** Sequences this worker holds. */
  active: number;
}

interface Placement {
  slot: Slot;
  submission: Submission;
  index: number;
}

/** Per-iteration report of a worker: rows in its step call, prompt tokens prefilled, tokens sampled. */
export type StepObserver = (batch: number, prefilled: number, sampled: number) => void;

export interface SchedulerOptions {
  workers: number;
  /** Sequences one worker batches at most. */
  maxBatch: number;
  /** Requests that may wait for a batch row; one more is refused (429). */
  maxQueue: number;
  onStep?: StepObserver;
}

export class Scheduler {
  private readonly queue: Submission[] = [];
  private readonly placed = new Map<number, Placement>();
  private nextId = 1;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** End times (ms) of recent requests, to estimate when the queue frees up. */
  private readonly finishedAt: number[] = [];

  private constructor(
    private readonly config: WorkerConfig,
    private readonly slots: Slot[],
    private readonly options: SchedulerOptions,
    readonly metadata: ModelMetadata,
  ) {
    for (const slot of slots) this.attach(slot);
  }

  static async start(config: WorkerConfig, options: SchedulerOptions): Promise<Scheduler> {
    for (const key of ['workers', 'maxBatch', 'maxQueue'] as const) {
      const v = options[key];
      if (!Number.isInteger(v) || v < (key === 'maxQueue' ? 0 : 1))
        throw new Error(
          `${key} must be a ${key === 'maxQueue' ? 'non-negative' : 'positive'} integer, got ${v}`,
        );
    }
    const started = await Promise.allSettled(
      Array.from({ length: options.workers }, () => spawn(config)),
    );
    const failure = started.find((s) => s.status === 'rejected');
    if (failure) {
      for (const s of started) if (s.status === 'fulfilled') await s.value.worker.terminate();
      throw (failure as PromiseRejectedResult).reason;
    }
    const workers = started.map(
      (s) => (s as PromiseFulfilledResult<Awaited<ReturnType<typeof spawn>>>).value,
    );
    return new Scheduler(
      config,
      workers.map((w) => ({ worker: w.worker, active: 0 })),
      options,
      workers[0].metadata,
    );
  }

  /** Requests waiting for a batch row. */
  get queued(): number {
    return this.queue.length;
  }

  /** Sequences in the workers' batches. */
  get active(): number {
    return this.placed.size;
  }

  get capacity(): number {
    return this.slots.length * this.options.maxBatch;
  }

  get full(): boolean {
    return this.queue.length >= this.options.maxQueue;
  }

  /**
   * Queues a request's sequences; they join the workers' batches in order as rows free up.
   * Throws QueueFullError when it would have to wait behind a full queue.
   */
  submit(specs: Omit<SequenceSpec, 'id'>[], listener: SequenceListener): Ticket {
    if (this.closed) throw new Error('the server is shutting down');
    const submission: Submission = {
      specs,
      listener,
      admitted: 0,
      open: specs.length,
      cancelled: false,
    };
    const waitsAnyway = this.queue.length > 0 || this.active + specs.length > this.capacity;
    if (waitsAnyway && this.full) throw new QueueFullError(this.retryAfter());
    this.queue.push(submission);
    this.dispatch();
    return {
      cancel: () => this.cancel(submission),
      stop: (index) => {
        for (const [id, p] of this.placed)
          if (p.submission === submission && p.index === index)
            p.slot.worker.postMessage({ type: 'cancel', id } satisfies WorkerRequest);
      },
    };
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.placed.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Cancels every queued and running request (their listeners get `cancelled`). */
  cancelAll(): void {
    for (const s of [...this.queue]) this.cancel(s);
    for (const p of new Set([...this.placed.values()].map((p) => p.submission))) this.cancel(p);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelAll();
    await this.idle();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /** Seconds until the queue is likely to have room: queued requests over the recent finish rate. */
  private retryAfter(): number {
    const now = performance.now();
    while (this.finishedAt.length > 0 && now - this.finishedAt[0] > 30_000) this.finishedAt.shift();
    if (this.finishedAt.length === 0) return 1;
    const perSecond = this.finishedAt.length / Math.max(1, (now - this.finishedAt[0]) / 1000);
    return Math.min(60, Math.max(1, Math.ceil(this.queue.length / perSecond)));
  }

  private cancel(submission: Submission): void {
    if (submission.cancelled) return;
    submission.cancelled = true;
    const queuedAt = this.queue.indexOf(submission);
    if (queuedAt >= 0) this.queue.splice(queuedAt, 1);
    for (let i = submission.admitted; i < submission.specs.length; i++)
      this.finish(submission, i, { kind: 'done', id: 0, reason: 'cancelled' });
    submission.admitted = submission.specs.length;
    for (const [id, p] of this.placed)
      if (p.submission === submission)
        p.slot.worker.postMessage({ type: 'cancel', id } satisfies WorkerRequest);
    this.dispatch();
  }

  private finish(submission: Submission, index: number, event: SequenceEvent): void {
    submission.open--;
    if (submission.open === 0) {
      this.finishedAt.push(performance.now());
      if (this.finishedAt.length > 1024) this.finishedAt.shift();
    }
    submission.listener(index, event);
  }

  private attach(slot: Slot): void {
    slot.worker.on('message', (m: WorkerMessage) => {
      if (m.type !== 'events') return;
      let sampled = 0;
      for (const e of m.events) {
        const p = this.placed.get(e.id);
        if (!p || p.slot !== slot) continue;
        if (e.kind === 'token') sampled++;
        if (e.kind === 'done') {
          this.placed.delete(e.id);
          slot.active--;
          this.finish(p.submission, p.index, e);
        } else if (!p.submission.cancelled) p.submission.listener(p.index, e);
      }
      this.options.onStep?.(m.batch, m.prefilled, sampled);
      this.dispatch();
    });
    // An uncaught error in the worker is followed by its exit, handled below; without a listener
    // the 'error' event would throw in the server thread.
    let crash: Error | null = null;
    slot.worker.on('error', (e) => {
      crash = e;
    });
    slot.worker.once('exit', (code) => {
      if (this.closed) return;
      const why = crash ? `: ${(crash as Error).message}` : '';
      const message = `inference worker exited (code ${code}${why}) while running the request`;
      for (const [id, p] of this.placed)
        if (p.slot === slot) {
          this.placed.delete(id);
          this.finish(p.submission, p.index, { kind: 'done', id, reason: 'error', message });
        }
      slot.active = 0;
      this.replace(slot);
    });
  }

  private replace(slot: Slot): void {
    // Out of the rotation until its replacement is ready.
    slot.active = Number.POSITIVE_INFINITY;
    spawn(this.config).then(
      ({ worker }) => {
        slot.worker = worker;
        slot.active = 0;
        this.attach(slot);
        this.dispatch();
      },
      (e: Error) => {
        // The model opened before; if it no longer does, fail what waits instead of hanging.
        for (const s of this.queue.splice(0))
          for (let i = s.admitted; i < s.specs.length; i++)
            this.finish(s, i, { kind: 'done', id: 0, reason: 'error', message: e.message });
      },
    );
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.reduce((a, b) => (b.active < a.active ? b : a));
      if (slot.active >= this.options.maxBatch) break;
      const submission = this.queue[0];
      const index = submission.admitted++;
      if (submission.admitted === submission.specs.length) this.queue.shift();
      const id = this.nextId++;
      this.placed.set(id, { slot, submission, index });
      slot.active++;
      slot.worker.postMessage({
        type: 'add',
        sequence: { ...submission.specs[index], id },
      } satisfies WorkerRequest);
    }
    if (this.queue.length === 0 && this.placed.size === 0)
      for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
