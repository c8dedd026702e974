import { Worker } from 'node:worker_threads';

// Running from the TypeScript sources (tests): a worker is `<name>.ts`, loaded through the
// package's dev hooks with the same source export condition; built: `dist/<name>.js` as is.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const SOURCE_FLAGS = [
  '--import',
  new URL('../dev/register-source.mjs', import.meta.url).href,
  '--conditions=@urgate/source',
];
const WORKER_EXEC_ARGV =
  FROM_SOURCE && !process.execArgv.includes(SOURCE_FLAGS[1])
    ? [...process.execArgv, ...SOURCE_FLAGS]
    : undefined; // inherit the process's

/** Starts the worker thread of this package's module `name` (e.g. `worker`, `gates-worker`). */
export function startWorker(name: string, workerData: unknown): Worker {
  const url = new URL(`./${name}${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);
  return new Worker(url, { workerData, execArgv: WORKER_EXEC_ARGV });
}
