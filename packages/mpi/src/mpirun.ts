import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MpirunOptions {
  /** Ranks (`-np`). */
  np: number;
  /** The command every rank runs, and its arguments. */
  command: string[];
  /** mpirun options before the command (e.g. `--mca btl self,tcp`). */
  mpirunArgs?: string[];
  /** Variables added to this process's environment (mpirun passes them on to local ranks). */
  env?: NodeJS.ProcessEnv;
  /** Whole job's deadline: past it mpirun gets SIGTERM, 5 s later SIGKILL. */
  deadlineMs: number;
  /** Called once mpirun has started, with its pid. */
  started?(pid: number): void;
}

export interface MpirunResult {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
  /** Wall milliseconds from start to exit. */
  ms: number;
  /** The deadline was reached (mpirun was signalled). */
  timedOut: boolean;
}

/**
 * Runs a job under Open MPI's mpirun on this machine (ranks oversubscribe the cores; root is
 * allowed, as in containers) with a deadline, and removes the job's session folders: mpirun's
 * TMPDIR is a fresh folder of its own, deleted when it exits, however it exits.
 */
export function mpirun(options: MpirunOptions): Promise<MpirunResult> {
  const tmp = mkdtempSync(join(tmpdir(), 'urgate-mpirun-'));
  const started = performance.now();
  const child = spawn(
    'mpirun',
    [
      '--oversubscribe',
      '--bind-to',
      'none',
      '-np',
      String(options.np),
      ...(options.mpirunArgs ?? []),
      ...options.command,
    ],
    {
      env: {
        ...process.env,
        OMPI_ALLOW_RUN_AS_ROOT: '1',
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
        ...options.env,
        TMPDIR: tmp,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
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
      reject(new Error(`mpirun could not be started (${e.message}): install openmpi-bin`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      clearTimeout(kill);
      rmSync(tmp, { recursive: true, force: true });
      resolve({ code, signal, out, err, ms: performance.now() - started, timedOut });
    });
  });
}
