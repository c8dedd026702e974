// `urgate lm train` under Slurm's srun --mpi=pmix on a one-node cluster this test starts (munged,
// slurmctld, slurmd on 127.0.0.1 in a folder of their own: tools/slurm-cluster.sh): 2 tasks give
// the losses of one process within the stated tolerance (3 tasks, as tools/slurm-check.sh runs
// them, cost this test seconds more and the mpirun test holds N=3 already), and a
// multi-task step started without MPI is refused in one line instead of training N times alone.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeAvailable } from '@urgate/kernels';
import { srun } from '@urgate/mpi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lmCommand } from '../src/commands/lm.js';
import { corpus, expectClose, lmTrain, metrics, urgate } from './mpi-support.js';
import { runCommand } from './runCommand.js';

const cluster = fileURLToPath(new URL('../../../tools/slurm-cluster.sh', import.meta.url));
const installed = ['srun', 'slurmctld', 'slurmd', 'munged'].every(
  (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0,
);
const root = process.getuid?.() === 0;
const skipped = !nativeAvailable
  ? ' (skipped: native kernels not built)'
  : !installed
    ? ' (skipped: slurm-wlm and munge are not installed; tools/setup.sh installs them)'
    : !root
      ? ' (skipped: slurmd needs root)'
      : '';

describe.skipIf(skipped !== '')(`urgate lm train under srun --mpi=pmix${skipped}`, () => {
  let dir = '';
  let cache = '';
  let one = '';
  const env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    dir = await corpus();
    cache = join(dir, 'cache');
    const started = execFileSync('bash', [cluster, 'start', join(dir, 'slurm')], {
      encoding: 'utf8',
    });
    env.SLURM_CONF = /^export SLURM_CONF=(.+)$/m.exec(started)?.[1];
    one = join(dir, 'one');
    expect((await runCommand(lmCommand, lmTrain(cache, one, 50).slice(1))).code).toBe(0);
  });

  afterAll(() => {
    if (dir) execFileSync('bash', [cluster, 'stop', join(dir, 'slurm')]);
  });

  it('2 tasks give the losses of one process within 1e-5 after 50 steps', async () => {
    const out = join(dir, 'srun-2');
    const command = [...urgate, ...lmTrain(cache, out, 50)];
    const r = await srun({ np: 2, command, env, deadlineMs: 120_000 });
    expect(r.timedOut).toBe(false);
    expect(r.code, r.err).toBe(0);
    expectClose(metrics(one), metrics(out));
    // Rank 0 alone reports, and records the world it ran in.
    expect(r.out.match(/^valid: word ppl/gm)).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).worldSize).toBe(2);
  });

  it('a step of 2 tasks without MPI (srun --mpi=none) stops with one line', async () => {
    const r = await srun({
      np: 2,
      command: [...urgate, ...lmTrain(cache, join(dir, 'none'), 5)],
      env,
      mpi: 'none',
      deadlineMs: 60_000,
    });
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(
      /srun started this process as task [01] of a 2-task step without MPI \(no PMIx or PMI variables\): run `srun --mpi=pmix …`/,
    );
  });
});
