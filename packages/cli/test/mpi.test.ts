// `urgate lm train` data parallel under Open MPI's mpirun (2 and 3 ranks, oversubscribed on this
// machine): the losses of one process within a stated tolerance, a checkpoint written by 2 ranks
// resumed by 3 and then by 1, a SIGKILLed rank ending the whole job, and ranks with other
// settings refused.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeAvailable } from '@urgate/kernels';
import { mpirun } from '@urgate/mpi';
import { fromSource } from '@urgate/source-hooks';
import { prepareCorpus } from '@urgate/wikitext';
import { beforeAll, describe, expect, it } from 'vitest';
import { lmCommand } from '../src/commands/lm.js';
import { trainCommand } from '../src/commands/train.js';
import { runCommand, urgateBin } from './runCommand.js';

const urgate = [process.execPath, ...fromSource, urgateBin];

/** Relative tolerance of N ranks against one process: float summation order only. */
const RTOL = 1e-5;

/** A corpus of 400 word types in 3,000 tokens: a step touches few rows of the embedding. */
async function corpus(): Promise<string> {
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

interface Metric {
  step: number;
  kind: string;
  [field: string]: unknown;
}
const metrics = (out: string): Metric[] =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

/** The records agree in order and kind, every number in them within RTOL; the worst ratio. */
function expectClose(a: Metric[], b: Metric[]): number {
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

async function ranks(np: number, args: string[]) {
  const r = await mpirun({ np, command: [...urgate, ...args], deadlineMs: 120_000 });
  expect(r.timedOut).toBe(false);
  return r;
}

describe.skipIf(!nativeAvailable)('urgate lm train under mpirun', () => {
  let dir = '';
  let cache = '';
  let one = '';
  const train = (out: string, steps: number, ...more: string[]) =>
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

  beforeAll(async () => {
    dir = await corpus();
    cache = join(dir, 'cache');
    one = join(dir, 'one');
    // One process: here, in the test's own process (no launcher: a world of one).
    expect((await runCommand(lmCommand, train(one, 50).slice(1))).code).toBe(0);
  });

  it.each([2, 3])(
    '%i ranks give the losses of one process within 1e-5 after 50 steps',
    async (np) => {
      const out = join(dir, `ranks-${np}`);
      const r = await ranks(np, train(out, 50));
      expect(r.code, r.err).toBe(0);
      expectClose(metrics(one), metrics(out));
      // Rank 0 alone reports: one summary on stdout.
      expect(r.out.match(/^valid: word ppl/gm)).toHaveLength(1);
      const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
      expect(result.worldSize).toBe(np);
      expect(result.steps).toBe(50);
    },
  );

  it('a checkpoint of 2 ranks resumes on 3 ranks, then in 1 process, as the run that never stopped', async () => {
    const out = join(dir, 'resumed');
    const first = await ranks(2, train(out, 10));
    expect(first.code, first.err).toBe(0);
    const second = await ranks(3, train(out, 20, '--resume'));
    expect(second.code, second.err).toBe(0);
    expect((await runCommand(lmCommand, train(out, 30, '--resume').slice(1))).code).toBe(0);
    const upTo30 = (m: Metric[]) => m.filter((r) => r.step <= 30 && r.kind !== 'test');
    expectClose(upTo30(metrics(one)), upTo30(metrics(out)));
  });

  it('a rank killed by SIGKILL ends the whole job within seconds', async () => {
    const out = join(dir, 'killed');
    let mpirunPid = 0;
    let killedAt = 0;
    const job = mpirun({
      np: 2,
      command: [...urgate, ...train(out, 100_000)],
      deadlineMs: 60_000,
      started: (pid) => {
        mpirunPid = pid;
      },
    });
    const path = join(out, 'metrics.jsonl');
    const rankPid = (rank: number) =>
      execFileSync('ps', ['-o', 'pid=', '--ppid', String(mpirunPid)], { encoding: 'utf8' })
        .split('\n')
        .map(Number)
        .find((pid) => {
          const env = existsSync(`/proc/${pid}/environ`)
            ? readFileSync(`/proc/${pid}/environ`, 'utf8')
            : '';
          return pid > 0 && env.split('\0').includes(`OMPI_COMM_WORLD_RANK=${rank}`);
        });
    let survivor: number | undefined;
    const poll = setInterval(() => {
      if (killedAt || !existsSync(path) || readFileSync(path, 'utf8').split('\n').length < 4)
        return;
      const victim = rankPid(1);
      survivor = rankPid(0);
      if (victim === undefined) return;
      process.kill(victim, 'SIGKILL');
      killedAt = performance.now();
    }, 20);
    const r = await job;
    clearInterval(poll);
    expect(killedAt).toBeGreaterThan(0);
    expect(r.timedOut).toBe(false);
    expect(r.code).not.toBe(0);
    expect(performance.now() - killedAt).toBeLessThan(10_000);
    // The other rank is gone too (at most a zombie waiting to be reaped).
    const state = (pid: number) =>
      existsSync(`/proc/${pid}/stat`)
        ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0]
        : 'gone';
    expect(survivor).toBeDefined();
    expect(['gone', 'Z']).toContain(state(survivor as number));
  });

  it('urgate train copy and l2e on 2 ranks give the records of one process', async () => {
    const tasks = {
      copy: ['copy', '--length', '5', '--hidden-size', '16', '--eval-size', '1'],
      l2e: ['l2e', '--curriculum', 'naive', '--length', '2', '--nesting', '2'].concat([
        '--hidden-size',
        '16',
        '--eval-size',
        '1',
      ]),
    };
    for (const [name, task] of Object.entries(tasks)) {
      const args = (out: string) =>
        ['train', ...task, '--batch-size', '8', '--steps', '20', '--eval-every', '5'].concat([
          '--checkpoint-every',
          '20',
          '--no-progress',
          '--out',
          out,
        ]);
      const single = join(dir, `${name}-1`);
      await runCommand(trainCommand, args(single).slice(1));
      const r = await ranks(2, args(join(dir, `${name}-2`)));
      expect(r.code, r.err).toBe(0);
      expectClose(metrics(single), metrics(join(dir, `${name}-2`)));
    }
  });

  it('a minutes budget ends every rank at the same step', async () => {
    const out = join(dir, 'minutes');
    const args = train(out, 1).filter((a, k, all) => a !== '--steps' && all[k - 1] !== '--steps');
    const r = await ranks(2, [...args, '--minutes', '0.05']);
    expect(r.code, r.err).toBe(0);
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(result.steps).toBeGreaterThan(0);
    expect(metrics(out).filter((m) => m.kind === 'train')).toHaveLength(result.steps);
  });

  it('ranks started with other settings stop with one line naming the rank', async () => {
    const out = join(dir, 'mismatch');
    const r = await mpirun({
      np: 1,
      command: [
        ...urgate,
        ...train(out, 5),
        ':',
        '-np',
        '1',
        ...urgate,
        ...train(out, 5, '--lr', '0.02'),
      ],
      deadlineMs: 60_000,
    });
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(
      'urgate lm train: the run settings differ between ranks: rank 1 of 2 disagrees with rank 0',
    );
  });
});
