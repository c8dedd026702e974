#!/usr/bin/env node
// @ts-check
// The language-model sweep of tools/repro-lm.sh: one `urgate lm train` run per (mechanism, seed)
// in OUT/runs/<MECH>LSTM-seed<s>/, JOBS (environment, default 1) at a time, each resumed from
// its checkpoint; runs with a result.json are skipped. Then OUT/results.{md,json} and OUT/figures/{learning-curves,final-metric}.
// Usage: node tools/repro-lm.mjs OUT CACHE MECHANISMS SEEDS -- <urgate lm train flags>
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  lmSweepMarkdown,
  planLmSweep,
  runSweep,
  writeLmSweepFigures,
  writeLmSweepResults,
} from '@urgate/train';

const [out, cache, mechanisms, seeds, dashes, ...trainFlags] = process.argv.slice(2);
if (
  out === undefined ||
  cache === undefined ||
  mechanisms === undefined ||
  seeds === undefined ||
  dashes !== '--'
) {
  process.stderr.write(
    'usage: node tools/repro-lm.mjs OUT CACHE MECHANISMS SEEDS -- <lm train flags>\n',
  );
  process.exit(2);
}
const seedList = Array.from({ length: Number(seeds) }, (_, k) => k + 1);
const runs = planLmSweep(mechanisms.split(','), seedList, out);
const say = (/** @type {string} */ line) =>
  process.stderr.write(`[repro-lm ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** Trains one run in a child `urgate lm train --resume` (train.log); a diverged run (exit 2 with its result.json) is finished. */
async function execute(/** @type {import('@urgate/train').LmSweepRun} */ run) {
  await mkdir(run.dir, { recursive: true });
  const log = createWriteStream(join(run.dir, 'train.log'), { flags: 'a' });
  const args = [
    'packages/cli/dist/bin.js',
    'lm',
    'train',
    '--cache',
    cache,
    `--mechanism=${run.mechanism}`,
    '--seed',
    String(run.seed),
    '--out',
    run.dir,
    '--resume',
    ...trainFlags,
  ];
  await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('error', reject);
    child.on('close', (code) => {
      log.end();
      if (code === 0 || (code === 2 && existsSync(join(run.dir, 'result.json'))))
        resolve(undefined);
      else reject(new Error(`exit status ${code} (log: ${join(run.dir, 'train.log')})`));
    });
  });
}

const jobs = Number(process.env.JOBS ?? 1);
if (!Number.isInteger(jobs) || jobs < 1) {
  process.stderr.write(`JOBS must be a positive integer, got ${process.env.JOBS}\n`);
  process.exit(2);
}
say(`${runs.length} runs, ${jobs} at a time, in ${out}`);
const progress = await runSweep(runs, { jobs, execute, onEvent: say });
const groups = await writeLmSweepResults(out, runs);
const figures = await writeLmSweepFigures(out, runs);
process.stdout.write(
  `${lmSweepMarkdown(groups)}\nresults: ${out}/results.md, ${out}/results.json\nfigures: ${figures.map((f) => `${f}.{svg,png}`).join(', ') || 'none'}\n`,
);
if (progress.failed.length > 0) {
  say(`${progress.failed.length} run(s) failed; see their train.log, then rerun to resume`);
  process.exit(1);
}
