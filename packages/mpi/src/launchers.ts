import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LaunchOptions {
  /** Ranks (mpirun's `-np`, srun's `-n`). */
  np: number;
  /** The command every rank runs, and its arguments. */
  command: string[];
  /** Variables added to this process's environment (the launcher passes them on to local ranks). */
  env?: NodeJS.ProcessEnv;
  /** Whole job's deadline: past it the launcher gets SIGTERM, 5 s later SIGKILL. */
  deadlineMs: number;
  /** Called once the launcher has started, with its pid. */
  started?(pid: number): void;
}

export interface MpirunOptions extends LaunchOptions {
  /** mpirun options before the command (e.g. `--mca btl self,tcp`). */
  mpirunArgs?: string[];
}

export interface LaunchResult {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
  /** Wall milliseconds from start to exit. */
  ms: number;
  /** The deadline was reached (the launcher was signalled). */
  timedOut: boolean;
}

/**
 * Runs `program args` (a launcher) with a deadline, and removes the job's session folders: its
 * TMPDIR is a fresh folder of its own, deleted when it exits, however it exits.
 */
function launch(
  program: string,
  args: string[],
  options: LaunchOptions,
  install: string,
): Promise<LaunchResult> {
  const tmp = mkdtempSync(join(tmpdir(), `urgate-${program}-`));
  const started = performance.now();
  const child = spawn(program, args, {
    env: { ...process.env, ...options.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) options.started?.(child.pid);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  let timedOut = false;
  let kill: NodeJS.Timeout | undefined;
  const deadline = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
    kill = setTimeout(() => child.kill('SIGKILL'), 5000);
  }, options.deadlineMs);
  return new Promise((resolve, reject) => {
    child.on('error', (e) => {
      clearTimeout(deadline);
      rmSync(tmp, { recursive: true, force: true });
      reject(new Error(`${program} could not be started (${e.message}): install ${install}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      clearTimeout(kill);
      rmSync(tmp, { recursive: true, force: true });
      resolve({ code, signal, out, err, ms: performance.now() - started, timedOut });
    });
  });
}

/**
 * Runs a job under Open MPI's mpirun on this machine (ranks oversubscribe the cores; root is
 * allowed, as in containers) with a deadline.
 */
export function mpirun(options: MpirunOptions): Promise<LaunchResult> {
  const args = ['--oversubscribe', '--bind-to', 'none', '-np', String(options.np)];
  return launch(
    'mpirun',
    [...args, ...(options.mpirunArgs ?? []), ...options.command],
    {
      ...options,
      env: { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', ...options.env },
    },
    'openmpi-bin',
  );
}

export interface SrunOptions extends LaunchOptions {
  /** srun's --mpi: how the tasks find each other (default pmix; none: they cannot). */
  mpi?: 'pmix' | 'pmi2' | 'none';
}

/**
 * Runs a job step under Slurm's srun (on the cluster `env.SLURM_CONF` names, or the system's),
 * its tasks allowed more than one to a CPU, with a deadline.
 */
export function srun(options: SrunOptions): Promise<LaunchResult> {
  const mpi = `--mpi=${options.mpi ?? 'pmix'}`;
  const args = [mpi, '--overcommit', '-n', String(options.np), ...options.command];
  return launch('srun', args, options, 'slurm-wlm');
}
