// The server thread's side of continuous batching: a bounded FIFO queue of requests whose
// sequences are handed to the inference workers as batch rows free up. Each worker batches the
// sequences it holds (src/worker.ts); this file decides which worker holds which.
import type { Worker } from 'node:worker_threads';
import type { UrgateOnnxMetadata } from '@urgate/onnx/runtime';
import type {
  SequenceEvent,
  SequenceSpec,
  WorkerConfig,
  WorkerMessage,
  WorkerRequest,
} from './protocol.js';
import { startWorker } from './threads.js';

export interface ModelMetadata {
  step: UrgateOnnxMetadata;
  sequence: UrgateOnnxMetadata | null;
  /** The graphs reach bit-identical states (null: no sequence graph). */
  graphsAgree: boolean | null;
}

function spawn(config: WorkerConfig): Promise<{ worker: Worker; metadata: ModelMetadata }> {
  return new Promise((resolve, reject) => {
    const worker = startWorker('worker', config);
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

/** Why a request is refused at once (429): the queue is full, or its estimated wait is too long. */
export type OverloadReason = 'queue_full' | 'estimated_wait';

/** A request refused at once: answer 429 with `Retry-After: retryAfter` seconds. */
export class OverloadError extends Error {
  constructor(
    readonly reason: OverloadReason,
    readonly retryAfter: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What a request hears besides its sequences' events: `admitted` when its last sequence has
 * joined a batch (it left the queue after `waitedMs`), `expired` when it waited in the queue for
 * the wait bound and was taken out (answer 429, `Retry-After: retryAfter` seconds).
 */
export interface QueueHooks {
  admitted?(waitedMs: number): void;
  expired(retryAfter: number): void;
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
  hooks: QueueHooks;
  /** Decode steps its sequences need at most: max(1, max_tokens) each. */
  work: number;
  queuedAt: number;
  /** Takes it out of the queue at the wait bound. */
  expiry: NodeJS.Timeout | null;
}

interface Slot {
  worker: Worker;
  /** Sequences this worker holds. */
  active: number;
  /** When its last report came (ms), to time its iterations. */
  lastReport: number | null;
  /** Tokens sampled and seconds spent while it held a full batch, decayed with RATE_MEMORY_S. */
  fullTokens: number;
  fullSeconds: number;
}

/** Time constant (s) of the service-rate average: recent full-batch iterations count most. */
const RATE_MEMORY_S = 5;
/** Full-batch time (s) a worker must have been measured over before its rate is used. */
const RATE_MIN_S = 0.2;

/** The decode steps a sequence may take: a scoring request (max_tokens 0) still takes a row. */
const sequenceWork = (spec: Omit<SequenceSpec, 'id'>) => Math.max(1, spec.maxTokens);

interface Placement {
  slot: Slot;
  submission: Submission;
  index: number;
  /** Tokens it has sampled. */
  sampled: number;
}

/** Per-iteration report of a worker: rows in its step call, prompt tokens prefilled, tokens sampled. */
export type StepObserver = (batch: number, prefilled: number, sampled: number) => void;

export interface SchedulerOptions {
  workers: number;
  /** Sequences one worker batches at most. */
  maxBatch: number;
  /** Requests that may wait for a batch row; one more is refused (429). */
  maxQueue: number;
  /**
   * Milliseconds a request may wait for a batch row (0: no bound). A request whose estimated wait
   * is longer is refused at once; a queued one that reaches it is taken out (both 429).
   */
  maxQueueWait: number;
  onStep?: StepObserver;
}

export class Scheduler {
  private readonly queue: Submission[] = [];
  private readonly placed = new Map<number, Placement>();
  private nextId = 1;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** Work (decode steps) of the sequences in the queue not yet handed to a worker. */
  private queuedWork = 0;

  private constructor(
    private readonly config: WorkerConfig,
    private readonly slots: Slot[],
    private readonly options: SchedulerOptions,
    readonly metadata: ModelMetadata,
  ) {
    for (const slot of slots) this.attach(slot);
  }

  static async start(config: WorkerConfig, options: SchedulerOptions): Promise<Scheduler> {
    for (const key of ['workers', 'maxBatch', 'maxQueue', 'maxQueueWait'] as const) {
      const v = options[key];
      const min = key === 'maxQueue' || key === 'maxQueueWait' ? 0 : 1;
      if (!Number.isInteger(v) || v < min)
        throw new Error(
          `${key} must be a ${min === 0 ? 'non-negative' : 'positive'} integer, got ${v}`,
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
      workers.map((w) => ({
        worker: w.worker,
        active: 0,
        lastReport: null,
        fullTokens: 0,
        fullSeconds: 0,
      })),
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
   * Throws OverloadError when it would have to wait behind a full queue, or longer than the
   * wait bound by the estimate: the work queued ahead of it (decode steps, max_tokens per
   * sequence) over the tokens per second the workers sample with full batches.
   */
  submit(specs: Omit<SequenceSpec, 'id'>[], listener: SequenceListener, hooks: QueueHooks): Ticket {
    if (this.closed) throw new Error('the server is shutting down');
    const submission: Submission = {
      specs,
      listener,
      admitted: 0,
      open: specs.length,
      cancelled: false,
      hooks,
      work: specs.reduce((s, spec) => s + sequenceWork(spec), 0),
      queuedAt: performance.now(),
      expiry: null,
    };
    const waitsAnyway = this.queue.length > 0 || this.active + specs.length > this.capacity;
    if (waitsAnyway) this.refuseIfOverloaded();
    this.queue.push(submission);
    this.queuedWork += submission.work;
    this.dispatch();
    if (this.options.maxQueueWait > 0 && this.queue.includes(submission))
      submission.expiry = setTimeout(() => this.expire(submission), this.options.maxQueueWait);
    return {
      cancel: () => this.cancel(submission),
      stop: (index) => {
        for (const [id, p] of this.placed)
          if (p.submission === submission && p.index === index)
            p.slot.worker.postMessage({ type: 'cancel', id } satisfies WorkerRequest);
      },
    };
  }

  /**
   * Tokens per second the workers sample with full batches (the rate the queue drains at),
   * or null before any worker has been measured with a full batch.
   */
  get serviceRate(): number | null {
    const rates = this.slots
      .filter((s) => s.fullSeconds >= RATE_MIN_S)
      .map((s) => s.fullTokens / s.fullSeconds);
    if (rates.length === 0) return null;
    // Workers run the same model: one not measured yet is taken to be as fast as the others.
    return (rates.reduce((a, b) => a + b, 0) / rates.length) * this.slots.length;
  }

  /**
   * Seconds until a request behind `work` queued decode steps gets its row, at the measured rate
   * (null: not measured yet): the first row frees when the running sequence nearest its
   * max_tokens ends (each row of a full batch samples rate / capacity tokens per second), then
   * the queue drains at the rate.
   */
  private secondsFor(work: number): number | null {
    const rate = this.serviceRate;
    if (rate === null || rate <= 0) return null;
    let nearest = this.placed.size < this.capacity ? 0 : Number.POSITIVE_INFINITY;
    for (const p of this.placed.values())
      nearest = Math.min(nearest, sequenceWork(p.submission.specs[p.index]) - p.sampled);
    return (Math.max(0, nearest) * this.capacity + work) / rate;
  }

  /** Retry-After for a wait of `seconds` (unknown: 1 s), whole seconds >= 1. */
  private static retryAfter(seconds: number | null): number {
    return seconds === null ? 1 : Math.max(1, Math.ceil(seconds));
  }

  private refuseIfOverloaded(): void {
    if (this.full) {
      // Room comes when the requests beyond the bound minus one have left the queue.
      const leaving = this.queue.slice(0, this.queue.length - this.options.maxQueue + 1);
      throw new OverloadError(
        'queue_full',
        Scheduler.retryAfter(this.secondsFor(leaving.reduce((s, q) => s + q.work, 0))),
        'the server is at capacity (request queue full); retry later',
      );
    }
    const bound = this.options.maxQueueWait / 1000;
    const wait = this.secondsFor(this.queuedWork);
    if (bound > 0 && wait !== null && wait > bound)
      // Retrying once the work queued now has shrunk to what the bound admits.
      throw new OverloadError(
        'estimated_wait',
        Scheduler.retryAfter(wait - bound),
        `the server is at capacity: the estimated wait for a batch row is ${wait.toFixed(1)} s, more than this server's ${bound} s; retry later`,
      );
  }

  /** At the wait bound: out of the queue, told to retry when the work ahead of it is done. */
  private expire(submission: Submission): void {
    const at = this.queue.indexOf(submission);
    if (at < 0 || submission.cancelled) return;
    const ahead = this.queue.slice(0, at).reduce((s, q) => s + q.work, 0);
    submission.hooks.expired(Scheduler.retryAfter(this.secondsFor(ahead)));
    this.cancel(submission);
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

  private cancel(submission: Submission): void {
    if (submission.cancelled) return;
    submission.cancelled = true;
    if (submission.expiry) clearTimeout(submission.expiry);
    const queuedAt = this.queue.indexOf(submission);
    if (queuedAt >= 0) this.queue.splice(queuedAt, 1);
    for (let i = submission.admitted; i < submission.specs.length; i++) {
      this.queuedWork -= sequenceWork(submission.specs[i]);
      this.finish(submission, i, { kind: 'done', id: 0, reason: 'cancelled' });
    }
    submission.admitted = submission.specs.length;
    for (const [id, p] of this.placed)
      if (p.submission === submission)
        p.slot.worker.postMessage({ type: 'cancel', id } satisfies WorkerRequest);
    this.dispatch();
  }

  private finish(submission: Submission, index: number, event: SequenceEvent): void {
    submission.open--;
    submission.listener(index, event);
  }

  private attach(slot: Slot): void {
    slot.worker.on('message', (m: WorkerMessage) => {
      if (m.type !== 'events') return;
      // Timed before this report's finished sequences leave: the iteration ran with this batch.
      const now = performance.now();
      const full = slot.active >= this.options.maxBatch;
      const seconds = slot.lastReport === null ? 0 : (now - slot.lastReport) / 1000;
      slot.lastReport = now;
      let sampled = 0;
      const deliver = (e: SequenceEvent) => {
        const p = this.placed.get(e.id);
        if (!p || p.slot !== slot) return;
        if (e.kind === 'token') {
          sampled++;
          p.sampled++;
        }
        if (e.kind === 'done') {
          this.placed.delete(e.id);
          slot.active--;
          this.finish(p.submission, p.index, e);
        } else if (!p.submission.cancelled) p.submission.listener(p.index, e);
      };
      const { events, tokens, tokensAt } = m;
      for (let i = 0; i < tokensAt; i++) deliver(events[i]);
      for (let i = 0; i < tokens.length; i += 2)
        deliver({ kind: 'token', id: tokens[i], token: tokens[i + 1], logprob: null, top: null });
      for (let i = tokensAt; i < events.length; i++) deliver(events[i]);
      if (full && seconds > 0) {
        const decay = Math.exp(-seconds / RATE_MEMORY_S);
        slot.fullTokens = slot.fullTokens * decay + sampled;
        slot.fullSeconds = slot.fullSeconds * decay + seconds;
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
        slot.lastReport = null;
        this.attach(slot);
        this.dispatch();
      },
      (e: Error) => {
        // The model opened before; if it no longer does, fail what waits instead of hanging.
        this.queuedWork = 0;
        for (const s of this.queue.splice(0)) {
          if (s.expiry) clearTimeout(s.expiry);
          for (let i = s.admitted; i < s.specs.length; i++)
            this.finish(s, i, { kind: 'done', id: 0, reason: 'error', message: e.message });
        }
      },
    );
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.reduce((a, b) => (b.active < a.active ? b : a));
      if (slot.active >= this.options.maxBatch) break;
      const submission = this.queue[0];
      const index = submission.admitted++;
      this.queuedWork -= sequenceWork(submission.specs[index]);
      if (submission.admitted === submission.specs.length) {
        this.queue.shift();
        if (submission.expiry) clearTimeout(submission.expiry);
        submission.hooks.admitted?.(performance.now() - submission.queuedAt);
      }
      const id = this.nextId++;
      this.placed.set(id, { slot, submission, index, sampled: 0 });
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
