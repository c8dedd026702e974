// @ts-check
// The node flags that run this monorepo's TypeScript sources in a child process or worker thread
// (tests and benchmarks run from source, with no build), and that record which modules it loads
// (the tests that check a process never loads tfjs).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `node ...fromSource file.ts`: esbuild-transpiled sources, the `@urgate/source` export condition. */
export const fromSource = [
  '--import',
  fileURLToPath(new URL('./register.mjs', import.meta.url)),
  '--conditions=@urgate/source',
];

/**
 * `spawn(process.execPath, [...r.args, file.ts], { env: r.env })` runs from source and appends
 * every module URL the process and its threads resolve to `log`; read them with recordedModules.
 * @param {string} log
 */
export function recordingModules(log) {
  return {
    args: [
      '--import',
      fileURLToPath(new URL('./record-modules.mjs', import.meta.url)),
      ...fromSource,
    ],
    env: { ...process.env, URGATE_MODULE_LOG: log },
  };
}

/**
 * The module URLs recorded in `log`.
 * @param {string} log
 * @returns {string[]}
 */
export function recordedModules(log) {
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}
