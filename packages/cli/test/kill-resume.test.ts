// `urgate train` and `urgate lm train` killed with SIGKILL at several points (between
// checkpoints, while a checkpoint is being written, during the final evaluation) and resumed
// with --resume end with the files of an uninterrupted run, bit for bit, and no temporary files.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeAvailable } from '@urgate/kernels';
import { fromSource } from '@urgate/source-hooks';
import { prepareCorpus } from '@urgate/wikitext';
import { describe, expect, it } from 'vitest';
import { urgateBin } from './runCommand.js';

function urgate(args: string[]): ChildProcess {
  return spawn(process.execPath, [...fromSource, urgateBin, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: string | null; err: string }>((resolve) => {
    let err = '';
    child.stderr?.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code, signal) => resolve({ code, signal, err }));
  });

const lines = (path: string) =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];

/** When the run is killed: after `records` metrics lines, or as soon as a checkpoint temporary appears. */
type KillPoint = { records: number } | 'checkpoint-write';

/** Runs the command, SIGKILLs it at `point` (if it gets there); returns whether it was killed. */
async function runUntil(args: string[], out: string, point: KillPoint): Promise<boolean> {
  const child = urgate(args);
  const done = exited(child);
  const metrics = join(out, 'metrics.jsonl');
  let killed = false;
  const check = (name: string | null) => {
    if (killed) return;
    const hit =
      point === 'checkpoint-write'
        ? name !== null && /^checkpoint\.safetensors\.tmp-/.test(name)
        : lines(metrics).length >= point.records;
    if (hit) {
      killed = child.kill('SIGKILL');
    }
  };
  let watcher: ReturnType<typeof watch> | null = null;
  const attach = setInterval(() => {
    if (!existsSync(out)) return;
    clearInterval(attach);
    watcher = watch(out, (_event, name) => check(name));
  }, 5);
  const r = await done;
  clearInterval(attach);
  (watcher as ReturnType<typeof watch> | null)?.close();
  if (!killed) expect(r.code, r.err).toBe(0);
  return r.signal === 'SIGKILL';
}

/**
 * An uninterrupted run in `<dir>/whole`; in `<dir>/split` the same run killed at each point in
 * turn (resumed each time), then resumed to the end; returns how many kills landed.
 */
async function wholeAndKilled(dir: string, args: (out: string) => string[], points: KillPoint[]) {
  const whole = join(dir, 'whole');
  const split = join(dir, 'split');
  expect((await exited(urgate(args(whole)))).code).toBe(0);
  let kills = 0;
  for (const point of points)
    if (await runUntil([...args(split), '--resume'], split, point)) kills += 1;
  const last = await exited(urgate([...args(split), '--resume']));
  expect(last.code, last.err).toBe(0);
  return { whole, split, kills };
}

/**
 * The run killed after `records[0]` metrics records, twice while writing a checkpoint and after
 * `records[1]` records (at least three of the kills landing), resumed each time, ends with the
 * files of the uninterrupted run, but for the `timings` fields.
 */
async function expectResumedAsWhole(
  dir: string,
  args: (out: string) => string[],
  records: [number, number],
  timings: string[],
) {
  const { whole, split, kills } = await wholeAndKilled(dir, args, [
    { records: records[0] },
    'checkpoint-write',
    'checkpoint-write',
    { records: records[1] },
  ]);
  expect(kills).toBeGreaterThanOrEqual(3);
  expectSameRun(whole, split, timings);
}

function expectSameRun(a: string, b: string, timings: string[]) {
  expect(readdirSync(b).sort()).toEqual(readdirSync(a).sort()); // no temporary file left
  for (const file of readdirSync(a)) {
    if (file === 'result.json') {
      const strip = (dir: string) => {
        const r = JSON.parse(readFileSync(join(dir, file), 'utf8'));
        for (const key of timings) delete r[key];
        return r;
      };
      expect(strip(b)).toEqual(strip(a));
    } else expect(readFileSync(join(b, file)).equals(readFileSync(join(a, file))), file).toBe(true);
  }
}

describe.skipIf(!nativeAvailable)('SIGKILL and --resume', () => {
  it('urgate train copy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'urgate-kill-task-'));
    const args = (out: string) => [
      'train',
      'copy',
      '--length',
      '5',
      '--hidden-size',
      '64',
      '--batch-size',
      '8',
      '--steps',
      '40',
      '--eval-every',
      '10',
      '--eval-size',
      '1',
      '--checkpoint-every',
      '5',
      '--no-progress',
      '--out',
      out,
    ];
    // Killed after 8 records, twice while writing a checkpoint, and after 44 (every train and eval record written: the final phase).
    await expectResumedAsWhole(dir, args, [8, 44], ['msPerStep']);
  });

  it('urgate train l2e (naive curriculum: its state resumes too)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'urgate-kill-l2e-'));
    const args = (out: string) =>
      ['train', 'l2e', '--curriculum', 'naive', '--length', '2', '--nesting', '2'].concat(
        ['--hidden-size', '16', '--batch-size', '8', '--steps', '40', '--eval-every', '2'],
        ['--eval-size', '1', '--checkpoint-every', '5', '--no-progress', '--out', out],
      );
    // Killed after 8 records, twice while writing a checkpoint, and after 60 (every train and eval record written: the final phase).
    await expectResumedAsWhole(dir, args, [8, 60], ['msPerStep']);
  });

  it('urgate lm train', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'urgate-kill-lm-'));
    const text = (title: string, n: number) =>
      ` \n = ${title} = \n \n${' the cat sat on the mat . the dog ran to the cat . \n \n'.repeat(n)}`;
    writeFileSync(join(dir, 'wiki.train.tokens'), text('A', 8) + text('B', 8));
    writeFileSync(join(dir, 'wiki.valid.tokens'), text('C', 3));
    writeFileSync(join(dir, 'wiki.test.tokens'), text('D', 3));
    const cache = join(dir, 'cache');
    await prepareCorpus({ dataDir: dir, cacheDir: cache, tokenizer: { kind: 'word' } });
    const args = (out: string) => [
      'lm',
      'train',
      '--cache',
      cache,
      '--hidden-size',
      '32',
      '--bptt',
      '6',
      '--batch-size',
      '3',
      '--steps',
      '40',
      '--dropout',
      '0.2',
      '--eval-every',
      '15',
      '--checkpoint-every',
      '4',
      '--out',
      out,
    ];
    // Killed after 9 records, twice while writing a checkpoint, and after 43
    // (40 train + 2 periodic valid + the final valid: killed during the test split).
    await expectResumedAsWhole(
      dir,
      args,
      [9, 43],
      ['trainSeconds', 'tokensPerSecond', 'scoringTokensPerSecond'],
    );
  });
});
