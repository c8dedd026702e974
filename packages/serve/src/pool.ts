import { Worker } from 'node:worker_threads';
import type { UrgateOnnxMetadata } from '@urgate/onnx/runtime';
import type { Task, TaskOutput, WorkerConfig, WorkerMessage } from './protocol.js';

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

interface Job {
  task: Task;
  resolve(output: TaskOutput): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  jobId: number;
}

export interface PoolMetadata {
  step: UrgateOnnxMetadata;
  sequence: UrgateOnnxMetadata | null;
}

function spawn(config: WorkerConfig): Promise<{ worker: Worker; metadata: PoolMetadata }> {
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
        resolve({ worker, metadata: { step: m.step, sequence: m.sequence } });
      }
    };
    worker.on('message', onMessage);
    worker.once('error', fail);
  });
}

/**
 * N inference workers, each with its own onnxruntime sessions, fed from one FIFO queue: a task
 * goes to the first idle worker. A worker that dies fails its task and is replaced.
 */
export class WorkerPool {
  private readonly queue: Job[] = [];
  private closing = false;
  private drained: (() => void) | null = null;

  private constructor(
    private readonly config: WorkerConfig,
    private readonly slots: Slot[],
    readonly metadata: PoolMetadata,
  ) {
    for (const slot of slots) this.attach(slot);
  }

  static async start(config: WorkerConfig, size: number): Promise<WorkerPool> {
    if (!Number.isInteger(size) || size < 1)
      throw new Error(`workers must be a positive integer, got ${size}`);
    const started = await Promise.allSettled(Array.from({ length: size }, () => spawn(config)));
    const failure = started.find((s) => s.status === 'rejected');
    if (failure) {
      for (const s of started) if (s.status === 'fulfilled') await s.value.worker.terminate();
      throw (failure as PromiseRejectedResult).reason;
    }
    const workers = started.map(
      (s) => (s as PromiseFulfilledResult<Awaited<ReturnType<typeof spawn>>>).value,
    );
    return new WorkerPool(
      config,
      workers.map((w) => ({ worker: w.worker, job: null, jobId: 0 })),
      workers[0].metadata,
    );
  }

  get size(): number {
    return this.slots.length;
  }

  /** Tasks waiting for a worker plus tasks running. */
  get pending(): number {
    return this.queue.length + this.slots.filter((s) => s.job).length;
  }

  run(task: Task): Promise<TaskOutput> {
    if (this.closing) return Promise.reject(new Error('the server is shutting down'));
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.dispatch();
    });
  }

  /** Lets queued and running tasks finish, then stops the workers. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.pending > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private attach(slot: Slot): void {
    slot.worker.on('message', (m: WorkerMessage) => {
      const job = slot.job;
      if (!job || (m.type !== 'result' && m.type !== 'error') || m.id !== slot.jobId) return;
      slot.job = null;
      if (m.type === 'result') job.resolve(m.output);
      else job.reject(new Error(m.message));
      this.dispatch();
    });
    // An uncaught error in the worker is followed by its exit, handled below; without a listener
    // the 'error' event would throw in the server thread.
    let crash: Error | null = null;
    slot.worker.on('error', (e) => {
      crash = e;
    });
    slot.worker.once('exit', (code) => {
      if (this.closing && !slot.job) return;
      const why = crash ? `: ${(crash as Error).message}` : '';
      slot.job?.reject(
        new Error(`inference worker exited (code ${code}${why}) while running the request`),
      );
      slot.job = null;
      this.replace(slot);
    });
  }

  private replace(slot: Slot): void {
    spawn(this.config).then(
      ({ worker }) => {
        slot.worker = worker;
        this.attach(slot);
        this.dispatch();
      },
      (e: Error) => {
        // The model opened before; if it no longer does, fail what waits instead of hanging.
        for (const job of this.queue.splice(0)) job.reject(e);
        this.dispatch();
      },
    );
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) break;
      if (slot.job || slot.worker.threadId < 0) continue;
      const job = this.queue.shift() as Job;
      slot.job = job;
      slot.jobId++;
      slot.worker.postMessage({ id: slot.jobId, task: job.task });
    }
    if (this.closing && this.pending === 0) this.drained?.();
  }
}
