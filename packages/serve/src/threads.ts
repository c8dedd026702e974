import { Worker } from 'node:worker_threads';
import { fromSource } from '@urgate/source-hooks';

// Running from the TypeScript sources (tests): a worker is `<name>.ts`, loaded through the
// source hooks with the same source export condition; built: `dist/<name>.js` as is.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_EXEC_ARGV =
  FROM_SOURCE && !process.execArgv.includes(fromSource[1])
    ? [...process.execArgv, ...fromSource]
    : undefined; // inherit the process's

/** Starts the worker thread of this package's module `name` (e.g. `worker`, `gates-worker`). */
export function startWorker(name: string, workerData: unknown): Worker {
  const url = new URL(`./${name}${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);
  return new Worker(url, { workerData, execArgv: WORKER_EXEC_ARGV });
}
