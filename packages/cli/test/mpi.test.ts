// `urgate lm train` data parallel under Open MPI's mpirun (2 and 3 ranks, oversubscribed on this
// machine): the losses of one process within a stated tolerance, a checkpoint written by 2 ranks
// resumed by 3 and then by 1, a SIGKILLed rank ending the whole job, and ranks with other
// settings, or a task's ranks with other image files, refused.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nativeAvailable } from '@urgate/kernels';
import { mpirun } from '@urgate/mpi';
import { beforeAll, describe, expect, it } from 'vitest';
import { lmCommand } from '../src/commands/lm.js';
import { trainCommand } from '../src/commands/train.js';
import { corpus, expectClose, lmTrain, type Metric, metrics, urgate } from './mpi-support.js';
import { runCommand } from './runCommand.js';

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
    lmTrain(cache, out, steps, ...more);

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

  it('task ranks that read other images (same settings) stop with one line naming the rank', async () => {
    // Two copies of a tiny MNIST in IDX files (5,010 training images of 2x2: the loader keeps
    // 5,000 for validation), one test image apart: the ranks run in different folders with the
    // same relative --data-dir, as hosts with their own copies of the files would.
    const idx = (dims: number[], data: Uint8Array) => {
      const header = Buffer.alloc(4 + 4 * dims.length);
      header.writeUInt32BE(0x0800 + dims.length, 0);
      for (const [k, d] of dims.entries()) header.writeUInt32BE(d, 4 + 4 * k);
      return Buffer.concat([header, data]);
    };
    const images = (count: number, offset: number) =>
      Uint8Array.from({ length: count * 4 }, (_, k) => (k * 37 + offset) % 256);
    const labels = (count: number) => Uint8Array.from({ length: count }, (_, k) => k % 10);
    const copies = ['a', 'b'].map((name) => join(dir, `mnist-${name}`));
    copies.forEach((copy, k) => {
      mkdirSync(copy, { recursive: true });
      writeFileSync(join(copy, 'train-images-idx3-ubyte'), idx([5010, 2, 2], images(5010, 0)));
      writeFileSync(join(copy, 'train-labels-idx1-ubyte'), idx([5010], labels(5010)));
      writeFileSync(join(copy, 't10k-images-idx3-ubyte'), idx([10, 2, 2], images(10, k)));
      writeFileSync(join(copy, 't10k-labels-idx1-ubyte'), idx([10], labels(10)));
    });
    const args = [
      'train',
      'smnist',
      '--data-dir',
      '.',
      '--hidden-size',
      '8',
      '--batch-size',
      '4',
    ].concat(['--steps', '2', '--no-progress', '--out', join(dir, 'other-images')]);
    const r = await mpirun({
      np: 1,
      mpirunArgs: ['--wdir', copies[0]],
      command: [...urgate, ...args, ':', '-np', '1', '--wdir', copies[1], ...urgate, ...args],
      deadlineMs: 60_000,
    });
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(
      'urgate train: the images read differ between ranks: rank 1 of 2 disagrees with rank 0',
    );
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
