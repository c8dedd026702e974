#!/usr/bin/env node
// @ts-check
// urgate uses tfjs through its public API only: a tfjs release may move its internals, and code
// that reads them breaks silently (a tensor's backend buffer by dataId, the engine's state, the
// process-wide kernel registry, a forced garbage collector to free what tfjs holds). This check
// reads every source, test, bench and tool file and prints one line per use of such internals.
// `node tools/check-tfjs-internals.mjs` exits 1 when there is one.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What is refused, and why (one line each). */
export const INTERNALS = [
  [/\bdataId\b/, "a tensor's dataId (the backend's private buffer handle)"],
  [/\bbackend\s*\(\s*\)/, 'tf.backend() (the backend object and its private storage)'],
  [/\bengine\s*\(\s*\)/, "tf.engine() (the engine's internals)"],
  [/\b(?:un)?registerKernel\b/, 'a tfjs kernel registration (a process-wide swap of tfjs ops)'],
  [/--expose-gc|\bsetFlagsFromString\b/, 'V8 flags set at run time (forced collections)'],
];

const DIRS = ['src', 'test', 'bench', 'dev'];

/** @param {string} dir @returns {string[]} */
function files(dir) {
  if (!existsSync(dir)) return [];
  /** @type {string[]} */
  let out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name === 'build') continue;
    if (statSync(path).isDirectory()) out = out.concat(files(path));
    else if (/\.(ts|mts|js|mjs|cjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/**
 * Uses of tfjs internals in the workspace at `root` (plus `extraFiles`: path -> text, for tests),
 * as "file:line: what" lines.
 * @param {string} root
 * @param {Record<string, string>} [extraFiles]
 */
export function tfjsInternalUses(root, extraFiles = {}) {
  // this check and its test spell the patterns out
  const exempt = [
    relative(root, fileURLToPath(import.meta.url)),
    'packages/cli/test/tfjs-internals.test.ts',
  ];
  const paths = [join(root, 'tools')];
  for (const pkg of readdirSync(join(root, 'packages')))
    for (const d of DIRS) paths.push(join(root, 'packages', pkg, d));
  /** @type {[string, string][]} */
  const texts = paths.flatMap(files).map((f) => [relative(root, f), readFileSync(f, 'utf8')]);
  texts.push(...Object.entries(extraFiles));
  /** @type {string[]} */
  const out = [];
  for (const [file, text] of texts) {
    if (exempt.includes(file)) continue;
    text.split('\n').forEach((line, k) => {
      for (const [pattern, what] of INTERNALS)
        if (/** @type {RegExp} */ (pattern).test(line)) out.push(`${file}:${k + 1}: ${what}`);
    });
  }
  return out.sort();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
  const uses = tfjsInternalUses(root);
  for (const u of uses) process.stderr.write(`check-tfjs-internals: ${u}\n`);
  process.exitCode = uses.length > 0 ? 1 : 0;
}
