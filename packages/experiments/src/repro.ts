// The paper's reproductions at the scale two cores allow: one table of what each one runs
// (`urgate sweep` arguments, full scale and a seconds-long smoke check), and running one,
// publishing its results into docs/ and writing docs/REPRODUCTION.md. What `urgate repro` does.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '@urgate/files';
import type { UrgateCommand } from './child.js';
import { CLAIMS, type ReproSweep, reproductionMarkdown } from './reproduction.js';

export type ReproScale = 'full' | 'smoke';

export interface Reproduction {
  name: string;
  /** What it reproduces, at what scale, and what it costs on 2 cores. */
  title: string;
  seeds: number;
  /** `urgate sweep` arguments other than --seeds, --out and --jobs. */
  sweep(scale: ReproScale, out: string): { args: string[]; trainArgs?: string[] };
  /** `urgate` commands the sweep needs first (the LM's corpus). */
  prepare?(out: string): string[][];
}

/** Command-line flags written as one line. */
const flags = (line: string): string[] => line.split(' ');

/**
 * A copy or adding task sweep: the task and its axes (`line`) at length `length` (smoke: a tenth
 * of the length, a tiny model, 40 steps).
 */
const syntheticSweep = (line: string, length: number) => (scale: ReproScale) => ({
  args: [
    ...flags(line),
    ...(scale === 'smoke'
      ? flags(
          `--length ${length / 10} --hidden-size 32 --batch-size 8 --steps 40 --eval-every 20 --eval-size 1 --checkpoint-every 20`,
        )
      : flags(
          `--length ${length} --hidden-size 128 --batch-size 32 --steps 3000 --eval-every 200 --eval-size 4 --checkpoint-every 500`,
        )),
  ],
});

/** A pixel task sweep: the task and its axes (`line`), `steps` steps. */
const pixelSweep = (line: string, steps: number) => (scale: ReproScale) => ({
  args: [
    ...flags(line),
    ...(scale === 'smoke'
      ? flags(
          '--hidden-size 8 --batch-size 10 --steps 6 --eval-every 3 --eval-size 20 --checkpoint-every 3',
        )
      : flags(
          `--hidden-size 64 --batch-size 50 --steps ${steps} --eval-every 250 --eval-size 1000 --checkpoint-every 250`,
        )),
  ],
});

/** The reproductions, by name (packages/experiments/README.md describes each). */
export const REPRODUCTIONS: readonly Reproduction[] = [
  {
    name: 'copy',
    title: 'copy task N=100 (paper 3.1, Fig. 3): - vs UR- LSTM, hidden 128, 3000 steps; ~15-20 min',
    seeds: 3,
    sweep: syntheticSweep('copy --mechanisms -,UR- --lrs 2e-3', 100),
  },
  {
    name: 'copy-all',
    title: 'copy task N=100, all nine mechanisms (paper Fig. 3, Table 2); ~1.5 h',
    seeds: 3,
    sweep: syntheticSweep('copy --mechanisms -,C-,U-,R-,UR-,O-,OM-,UM-,OR- --lrs 2e-3', 100),
  },
  {
    name: 'adding',
    title: 'adding task T=200 (paper 3.1, Fig. 3): -, C-, U-, R-, UR-, OR- LSTMs, 3000 steps; ~1 h',
    seeds: 3,
    sweep: syntheticSweep('adding --mechanisms -,C-,U-,R-,UR-,OR- --lrs 1e-3', 200),
  },
  {
    name: 'fmnist',
    title: 'sequential Fashion-MNIST (paper 3.2): - vs UR- LSTM, hidden 64, 2000 steps, one seed',
    seeds: 1,
    sweep: pixelSweep('sfmnist --mechanisms -,UR- --lrs 1e-3', 2000),
  },
  {
    name: 'pixel',
    title:
      'permuted Fashion-MNIST (paper 3.2, Table 3): - vs UR- LSTM, hidden 64, 3000 steps; ~33 min with 2 jobs',
    seeds: 3,
    sweep: pixelSweep('pfmnist --mechanisms -,UR- --lrs 1e-3', 3000),
  },
  {
    name: 'l2e',
    title:
      'program evaluation (paper E.3): - and UR- on an LSTM (128) and an RMC (2x2x32), length 4, nesting 2; ~1 h',
    seeds: 3,
    sweep: (scale) => ({
      args: [
        ...flags(
          'l2e --grammar deepmind --program-task all --curriculum mix --cores lstm,rmc --mechanisms -,UR- --lrs 1e-3',
        ),
        ...(scale === 'smoke'
          ? flags(
              '--length 2 --nesting 2 --hidden-size 8 --mem-slots 2 --num-heads 2 --head-size 4 --batch-size 4 --steps 4 --eval-every 2 --eval-size 1 --checkpoint-every 2',
            )
          : flags(
              '--length 4 --nesting 2 --hidden-size 128 --mem-slots 2 --num-heads 2 --head-size 32 --batch-size 128 --steps 2000 --eval-every 100 --eval-size 4 --checkpoint-every 500',
            )),
      ],
    }),
  },
  {
    name: 'lm',
    title:
      'word-level LM (paper Table 6a, small): -, C-, U-, OM-, UR- LSTMs on the embedded corpus, 492k tokens each; ~16 min with 2 jobs',
    seeds: 3,
    prepare: (out) => [['lm', 'prepare', '--min-count', '20', '--out', join(out, 'cache')]],
    sweep: (scale, out) => ({
      // Seeds 1.. as the runs of docs/repro-lm-results.md, so an earlier sweep resumes.
      args: [
        ...flags('lm --mechanisms -,C-,U-,OM-,UR- --first-seed 1 --cache'),
        join(out, 'cache'),
      ],
      trainArgs: [
        ...(scale === 'smoke'
          ? flags(
              '--hidden-size 64 --bptt 16 --batch-size 4 --steps 4 --eval-every 2 --checkpoint-every 2',
            )
          : flags(
              '--hidden-size 256 --bptt 64 --batch-size 32 --steps 240 --eval-every 40 --checkpoint-every 50',
            )),
        ...flags('--layers 1 --lr 1e-3 --clip 0.1 --dropout 0.1 --t-max 8 --downsize 32'),
      ],
    }),
  },
];

export function reproduction(name: string): Reproduction {
  const r = REPRODUCTIONS.find((x) => x.name === name);
  if (!r)
    throw new Error(
      `unknown reproduction '${name}'; expected one of ${REPRODUCTIONS.map((x) => x.name).join(', ')}`,
    );
  return r;
}

/** Where the published results and REPRODUCTION.md live: this package's docs/. */
export const REPRO_DOCS = fileURLToPath(new URL('../docs', import.meta.url));

export interface ReproSettings {
  urgate: UrgateCommand;
  scale: ReproScale;
  /** The sweep directory (default runs/repro-<name>, -smoke for the smoke check). */
  out?: string;
  /** Where results are published (default REPRO_DOCS; the smoke check: <out>/docs). */
  docs?: string;
  jobs: number;
  seeds?: number;
  /** More `urgate sweep` arguments (a later value of a flag wins). */
  extra?: string[];
  /** Resume: refuse when there is no earlier run to continue. */
  resume?: boolean;
}

export function reproOut(r: Reproduction, s: Pick<ReproSettings, 'out' | 'scale'>): string {
  return s.out ?? join('runs', `repro-${r.name}${s.scale === 'smoke' ? '-smoke' : ''}`);
}

export function reproDocs(
  r: Reproduction,
  s: Pick<ReproSettings, 'out' | 'scale' | 'docs'>,
): string {
  return s.docs ?? (s.scale === 'smoke' ? join(reproOut(r, s), 'docs') : REPRO_DOCS);
}

/** The `urgate` argument lists a reproduction runs, in order. */
export function reproCommands(r: Reproduction, s: Omit<ReproSettings, 'urgate'>): string[][] {
  const out = reproOut(r, s);
  const { args, trainArgs } = r.sweep(s.scale, out);
  const seeds = String(s.seeds ?? (s.scale === 'smoke' ? Math.min(2, r.seeds) : r.seeds));
  const sweep = [
    'sweep',
    ...args,
    '--seeds',
    seeds,
    '--out',
    out,
    '--jobs',
    String(s.jobs),
    ...(s.extra ?? []),
  ];
  return [...(r.prepare?.(out) ?? []), trainArgs ? [...sweep, '--', ...trainArgs] : sweep];
}

/** Runs `urgate <args>` at low priority with the terminal as its output; rejects on failure. */
function runUrgate(urgate: UrgateCommand, args: string[]): Promise<void> {
  const [node, ...pre] = urgate;
  if (node === undefined) throw new Error('runUrgate: empty urgate command');
  // One OpenBLAS thread by default: on 2 cores shared with other jobs, 2 threads per process
  // ran ~6x slower (4.6 vs 30 steps/s measured).
  const env = { ...process.env, URGATE_NUM_THREADS: process.env.URGATE_NUM_THREADS ?? '1' };
  return new Promise((resolve, reject) => {
    const child = spawn(node, [...pre, ...args], { stdio: 'inherit', env });
    if (child.pid !== undefined) setPriority(child.pid, 10);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`urgate ${args.slice(0, 2).join(' ')} … exited with status ${code}`)),
    );
  });
}

/**
 * Runs a reproduction (resumable: finished runs are kept, unfinished ones resume), then copies
 * its results.{md,json} and figures/*.png to <docs>/repro-<name>-* and rewrites
 * <docs>/REPRODUCTION.md. Returns the published files.
 */
export async function runReproduction(name: string, s: ReproSettings): Promise<string[]> {
  const r = reproduction(name);
  const out = reproOut(r, s);
  if (s.resume && !existsSync(join(out, 'runs')))
    throw new Error(`${out}: no runs to resume; start it with \`urgate repro run ${name}\``);
  for (const args of reproCommands(r, s)) await runUrgate(s.urgate, args);
  return publishReproduction(name, out, reproDocs(r, s));
}

/** Copies a finished sweep's results into docs (each file written atomically) and rewrites the report. */
export async function publishReproduction(
  name: string,
  out: string,
  docs: string,
): Promise<string[]> {
  const sources = ['results.md', 'results.json'].map((f) => join(out, f));
  const figures = join(out, 'figures');
  if (existsSync(figures))
    for (const f of readdirSync(figures).sort())
      if (f.endsWith('.png')) sources.push(join(figures, f));
  const written: string[] = [];
  for (const src of sources.filter((f) => existsSync(f))) {
    const dst = join(docs, `repro-${name}-${src.slice(src.lastIndexOf('/') + 1)}`);
    await writeFileAtomic(dst, await readFile(src));
    written.push(dst);
  }
  written.push(await writeReproductionReport(docs));
  return written;
}

/**
 * Writes <docs>/REPRODUCTION.md from the sweeps' <docs>/repro-<sweep>-results.json: each claim's
 * verdict by the rules of reproduction.ts; a sweep without a results file is "not run yet".
 */
export async function writeReproductionReport(docs: string = REPRO_DOCS): Promise<string> {
  const sweeps: Record<string, ReproSweep> = {};
  for (const name of new Set(CLAIMS.map((c) => c.sweep))) {
    const path = join(docs, `repro-${name}-results.json`);
    if (!existsSync(path)) continue;
    try {
      sweeps[name] = JSON.parse(readFileSync(path, 'utf8')) as ReproSweep;
    } catch (e) {
      throw new Error(`${path}: not JSON (${(e as Error).message})`);
    }
  }
  const out = join(docs, 'REPRODUCTION.md');
  await writeFileAtomic(out, reproductionMarkdown(sweeps));
  return out;
}

/** One line per reproduction: name, whether its results are published, and what it runs. */
export function listReproductions(docs: string = REPRO_DOCS): string[] {
  const width = Math.max(...REPRODUCTIONS.map((r) => r.name.length));
  return REPRODUCTIONS.map((r) => {
    const published = existsSync(join(docs, `repro-${r.name}-results.md`));
    return `${r.name.padEnd(width)}  ${published ? 'published' : 'not run  '}  ${r.title}`;
  });
}
