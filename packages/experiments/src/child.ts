// Runs of a sweep, each an `urgate` child process (its own tfjs, kernels and thread count):
// `urgate train --config` for the task and l2e sweeps, `urgate train lm` for the LM sweep.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '@urgate/files';

/**
 * How to start `urgate`: the node binary, its flags and the CLI script, e.g.
 * `[process.execPath, ...process.execArgv, process.argv[1]]` in the CLI itself.
 */
export type UrgateCommand = readonly string[];

/**
 * Runs `urgate <args>` with its output appended to `log`; resolves with its exit status. The
 * last line it wrote to stderr is kept for the error a failed run reports.
 */
export function runLogged(
  urgate: UrgateCommand,
  args: string[],
  log: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; lastError: string }> {
  const [node, ...pre] = urgate;
  if (node === undefined) throw new Error('runLogged: empty urgate command');
  const out = createWriteStream(log, { flags: 'a' });
  return new Promise((resolve, reject) => {
    const child = spawn(node, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let lastError = '';
    child.stdout.pipe(out, { end: false });
    child.stderr.on('data', (chunk: Buffer) => {
      out.write(chunk);
      const lines = chunk.toString().trim().split('\n');
      lastError = lines[lines.length - 1] ?? lastError;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      out.end();
      resolve({ code, lastError });
    });
  });
}

/** OpenBLAS threads per run: the machine's cores shared by the runs trained at once. */
function threadsPerRun(jobs: number): string {
  return (
    process.env.URGATE_NUM_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / jobs)))
  );
}

/**
 * A sweep executor: trains one run in a child `urgate train --config <dir>/config.json --out
 * <dir> --resume` (output in <dir>/train.log); `input` is the run's config.json, the settings that
 * resolve to its config.
 */
export function trainInChild<R extends { dir: string }>(
  urgate: UrgateCommand,
  jobs: number,
  input: (run: R) => unknown,
) {
  const env = { ...process.env, URGATE_NUM_THREADS: threadsPerRun(jobs) };
  return async (run: R): Promise<void> => {
    await mkdir(run.dir, { recursive: true });
    const configPath = join(run.dir, 'config.json');
    await writeJsonAtomic(configPath, input(run));
    const log = join(run.dir, 'train.log');
    const args = ['train', '--config', configPath, '--out', run.dir, '--resume'];
    const { code, lastError } = await runLogged(urgate, args, log, env);
    if (code !== 0) throw new Error(`exit status ${code}: ${lastError} (log: ${log})`);
  };
}

/**
 * The LM sweep's executor: `urgate train lm --cache <cache> --mechanism M --seed S --out <dir>
 * --resume <trainArgs>`; a diverged run (exit status 2 with its result.json) is finished.
 */
export function lmTrainInChild<R extends { dir: string; mechanism: string; seed: number }>(
  urgate: UrgateCommand,
  jobs: number,
  cache: string,
  trainArgs: readonly string[],
) {
  const env = { ...process.env, URGATE_NUM_THREADS: threadsPerRun(jobs) };
  return async (run: R): Promise<void> => {
    await mkdir(run.dir, { recursive: true });
    const log = join(run.dir, 'train.log');
    const args = [
      'train',
      'lm',
      '--cache',
      cache,
      `--mechanism=${run.mechanism}`,
      '--seed',
      String(run.seed),
      '--out',
      run.dir,
      '--resume',
      ...trainArgs,
    ];
    const { code, lastError } = await runLogged(urgate, args, log, env);
    if (code !== 0 && !(code === 2 && existsSync(join(run.dir, 'result.json'))))
      throw new Error(`exit status ${code}: ${lastError} (log: ${log})`);
  };
}
