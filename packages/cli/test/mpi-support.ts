// What the data-parallel tests share: the CLI run from its sources (as every rank runs it), a
// small corpus, the LM settings, and the comparison of a run's metrics with one process's.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromSource } from '@urgate/source-hooks';
import { prepareCorpus } from '@urgate/wikitext';
import { expect } from 'vitest';
import { urgateBin } from './runCommand.js';

export const urgate = [process.execPath, ...fromSource, urgateBin];

/** Relative tolerance of N ranks against one process: float summation order only. */
const RTOL = 1e-5;

/** A corpus of 400 word types in 3,000 tokens: a step touches few rows of the embedding. */
export async function corpus(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'urgate-mpi-'));
  let s = 7;
  const word = () => {
    s = (s * 16807) % 2147483647;
    return `w${Math.floor((s / 2147483647) ** 2 * 400)}`;
  };
  const article = (title: string, lines: number) =>
    ` \n = ${title} = \n \n${Array.from({ length: lines }, () => ` ${Array.from({ length: 12 }, word).join(' ')} . \n \n`).join('')}`;
  writeFileSync(join(dir, 'wiki.train.tokens'), article('One', 120) + article('Two', 110));
  writeFileSync(join(dir, 'wiki.valid.tokens'), article('Three', 10));
  writeFileSync(join(dir, 'wiki.test.tokens'), article('Four', 10));
  await prepareCorpus({ dataDir: dir, cacheDir: join(dir, 'cache'), tokenizer: { kind: 'word' } });
  return dir;
}

// 7 rows: uneven shares (3 + 4 on 2 ranks, 2 + 2 + 3 on 3), weighted by their rows.
const TRAIN = ['--hidden-size', '16', '--batch-size', '7', '--bptt', '8', '--lr', '0.01'];
const CADENCE = ['--eval-every', '10', '--checkpoint-every', '10'];

/** `urgate lm train` on the prepared `cache` for `steps` steps, writing to `out`. */
export const lmTrain = (cache: string, out: string, steps: number, ...more: string[]) =>
  [
    'lm',
    'train',
    '--cache',
    cache,
    '--out',
    out,
    ...TRAIN,
    ...CADENCE,
    '--steps',
    String(steps),
  ].concat(more, ['--no-tied']);

export interface Metric {
  step: number;
  kind: string;
  [field: string]: unknown;
}
export const metrics = (out: string): Metric[] =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

/** The records agree in order and kind, every number in them within RTOL; the worst ratio. */
export function expectClose(a: Metric[], b: Metric[]): number {
  expect(b.map((r) => [r.step, r.kind])).toEqual(a.map((r) => [r.step, r.kind]));
  let worst = 0;
  a.forEach((r, i) => {
    for (const [key, x] of Object.entries(r))
      if (typeof x === 'number' && x !== 0)
        worst = Math.max(worst, Math.abs((b[i][key] as number) - x) / Math.abs(x));
      else expect(b[i][key], key).toEqual(x);
  });
  expect(worst).toBeLessThanOrEqual(RTOL);
  return worst;
}
