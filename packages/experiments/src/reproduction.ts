// The reproduction report (packages/experiments/docs/REPRODUCTION.md): the paper's claims, one row
// each, judged from the sweeps' results.json files by the explicit rules below. No verdict is
// written by hand: change a rule here and every row is recomputed.
import { ADDING_BASELINE_MSE, COPY_BASELINE_LOSS } from '@urgate/tasks';
import type { Quartiles } from './sweep.js';

/** A sweep's results.json as `urgate sweep` and the LM reproduction write it (the fields read here). */
export interface ReproSweep {
  task: string;
  metric: { key: string; label: string; higherIsBetter: boolean };
  groups: {
    mechanism: string;
    runs: number;
    finished: number;
    diverged: number;
    final?: Quartiles | null;
    test?: Quartiles | null;
    valid?: Quartiles | null;
  }[];
  runs: {
    id: string;
    config: Record<string, unknown> | null;
    result: { outcome: string } | null;
    curve: { step: number; value: number }[];
  }[];
}

export type Verdict = 'holds' | 'does not hold' | 'inconclusive';

/** The thresholds of the rules, as fractions of the task's no-memory baseline loss. */
export const RULES = {
  /** A group has solved a synthetic task when its third-quartile final loss is at most this. */
  solved: 0.1,
  /** A group sits at the baseline when its first-quartile final loss is at least this. */
  atBaseline: 0.9,
  /** Fewest finished (not diverged) seeds a group needs before any verdict uses it. */
  minFinished: 2,
} as const;

export const RULES_TEXT = [
  `Every rule uses the median and quartiles over seeds of finished runs; a group with fewer than ${RULES.minFinished} finished seeds makes its claim inconclusive (diverged runs are counted, never averaged in).`,
  `Synthetic tasks (loss relative to the no-memory baseline B: log 8 for copy, 1/6 for adding): a group **solved** the task when its third-quartile final loss is ≤ ${RULES.solved}·B (even the worse seeds solved it); it **sits at the baseline** when its first-quartile final loss is ≥ ${RULES.atBaseline}·B (even the better seeds did not move); it **left the baseline** when its third quartile is < ${RULES.atBaseline}·B.`,
  '"X solve it": holds when every X solved it; does not hold when some X sits at the baseline; otherwise inconclusive. "X stay at the baseline": holds when every X sits at it; does not hold when some X left it; otherwise inconclusive. "X makes slow progress": holds when X left the baseline without solving it; does not hold when X sits at the baseline or solved it.',
  `"Refine variants learn fastest": per run, the first evaluated step with loss ≤ ${RULES.solved}·B (never: ∞), median over seeds; holds when every refine group's median is below every other group's, does not hold when some other group's is below every refine group's, otherwise inconclusive.`,
  '"A is better than B" (accuracy: higher; perplexity: lower): holds when the interquartile ranges are apart in A\'s favour; does not hold when they are apart in B\'s favour; inconclusive when they overlap. "A is best / worst" applies it to A against every other group: holds when it holds against all, does not hold when the opposite holds against any.',
];

/** A claim's row: our numbers, the verdict and the reason the rule gave. */
export interface Judgement {
  ours: string;
  verdict: Verdict;
  why: string;
}

type Group = ReproSweep['groups'][number];

/** One fact of the paper: what it reports, which sweep tests it, and the rule that judges it. */
export interface Claim {
  sweep: string;
  command: string;
  paper: string;
  judge: (s: ReproSweep) => Judgement;
}

const label = (m: string) => (m === '-' ? '`-`' : `\`${m}\``);
const num = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(3));
const iqr = (q: Quartiles) =>
  q.n === 1 ? num(q.median) : `${num(q.median)} [${num(q.q1)}, ${num(q.q3)}]`;

function baselineOf(s: ReproSweep): number {
  if (s.task === 'copy') return COPY_BASELINE_LOSS;
  if (s.task === 'adding') return ADDING_BASELINE_MSE;
  throw new Error(`task ${s.task}: no no-memory baseline (expected copy or adding)`);
}

function find(s: ReproSweep, mechanisms: string[]): { groups: Group[]; missing: string[] } {
  const groups: Group[] = [];
  const missing: string[] = [];
  for (const m of mechanisms) {
    const g = s.groups.find((x) => x.mechanism === m);
    if (g) groups.push(g);
    else missing.push(m);
  }
  return { groups, missing };
}

/** The quartiles a comparison uses: test (pixel accuracy, LM perplexity) when present, else final. */
function value(g: Group): Quartiles | null {
  return g.test ?? g.final ?? null;
}

function tooFew(groups: Group[], missing: string[]): string | null {
  if (missing.length > 0) return `not in the sweep: ${missing.map(label).join(', ')}`;
  const short = groups.filter((g) => g.finished < RULES.minFinished || value(g) === null);
  if (short.length === 0) return null;
  return short
    .map(
      (g) =>
        `${label(g.mechanism)} has ${g.finished} finished run(s) of ${g.runs} (${g.diverged} diverged)`,
    )
    .join('; ');
}

function describe(groups: Group[]): string {
  return groups
    .map((g) => {
      const q = value(g);
      const div = g.diverged > 0 ? `, ${g.diverged}/${g.runs} diverged` : '';
      return `${label(g.mechanism)} ${q ? iqr(q) : '–'}${div}`;
    })
    .join('; ');
}

type Level = 'solved' | 'at baseline' | 'learning' | 'mixed';

/** Where a group ended relative to the baseline B (RULES): solved, at baseline, learning or mixed. */
export function level(q: Quartiles, baseline: number): Level {
  if (q.q3 <= RULES.solved * baseline) return 'solved';
  if (q.q1 >= RULES.atBaseline * baseline) return 'at baseline';
  if (q.q3 < RULES.atBaseline * baseline) return 'learning';
  return 'mixed';
}

function levels(s: ReproSweep, mechanisms: string[]) {
  const { groups, missing } = find(s, mechanisms);
  const few = tooFew(groups, missing);
  const b = baselineOf(s);
  const ls = groups.map((g) => ({ m: g.mechanism, l: level(value(g) as Quartiles, b) }));
  const ours = `final ${s.metric.label} ${describe(groups)} (B = ${num(b)})`;
  const list = (want: (l: Level) => boolean) =>
    ls
      .filter((x) => want(x.l))
      .map((x) => `${label(x.m)} ${x.l}`)
      .join(', ');
  return { few, ls, ours, list };
}

/** "These mechanisms solve the task." */
export function solves(mechanisms: string[]) {
  return (s: ReproSweep) => {
    const { few, ls, ours, list } = levels(s, mechanisms);
    if (few) return { ours, verdict: 'inconclusive' as const, why: few };
    if (ls.every((x) => x.l === 'solved'))
      return { ours, verdict: 'holds' as const, why: 'every one solved it' };
    if (ls.some((x) => x.l === 'at baseline'))
      return { ours, verdict: 'does not hold' as const, why: list((l) => l === 'at baseline') };
    return {
      ours,
      verdict: 'inconclusive' as const,
      why: `not solved within the budget: ${list((l) => l !== 'solved')}`,
    };
  };
}

/** "These mechanisms stay at the no-memory baseline." */
export function staysAtBaseline(mechanisms: string[]) {
  return (s: ReproSweep) => {
    const { few, ls, ours, list } = levels(s, mechanisms);
    if (few) return { ours, verdict: 'inconclusive' as const, why: few };
    if (ls.every((x) => x.l === 'at baseline'))
      return { ours, verdict: 'holds' as const, why: 'every one sits at the baseline' };
    if (ls.some((x) => x.l === 'learning' || x.l === 'solved'))
      return {
        ours,
        verdict: 'does not hold' as const,
        why: `left the baseline: ${list((l) => l === 'learning' || l === 'solved')}`,
      };
    return {
      ours,
      verdict: 'inconclusive' as const,
      why: `seeds disagree: ${list((l) => l === 'mixed')}`,
    };
  };
}

/** "This mechanism makes slow progress" (leaves the baseline without solving the task). */
export function slowProgress(mechanism: string) {
  return (s: ReproSweep) => {
    const { few, ls, ours } = levels(s, [mechanism]);
    if (few) return { ours, verdict: 'inconclusive' as const, why: few };
    const l = ls[0].l;
    if (l === 'learning')
      return { ours, verdict: 'holds' as const, why: 'left the baseline, not solved' };
    if (l === 'mixed') return { ours, verdict: 'inconclusive' as const, why: 'seeds disagree' };
    return { ours, verdict: 'does not hold' as const, why: l };
  };
}

/** Per run: the first evaluated step whose loss is at most RULES.solved·B (Infinity: never). */
function stepsToSolve(s: ReproSweep, mechanism: string): number[] {
  const b = baselineOf(s);
  return s.runs
    .filter((r) => r.config?.mechanism === mechanism && r.result?.outcome === 'finished')
    .map((r) => r.curve.find((p) => p.value <= RULES.solved * b)?.step ?? Number.POSITIVE_INFINITY);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = (s.length - 1) / 2;
  return (s[Math.floor(m)] + s[Math.ceil(m)]) / 2;
}

/** "The refine variants learn fastest": median steps to the solved threshold. */
export function refineFastest(refine: string[]) {
  return (s: ReproSweep) => {
    const all = s.groups.map((g) => g.mechanism);
    const { groups, missing } = find(s, all);
    const few = tooFew(
      groups,
      missing.length > 0 ? missing : refine.filter((m) => !all.includes(m)),
    );
    const medians = all.map((m) => ({ m, steps: median(stepsToSolve(s, m)) }));
    const show = (x: { m: string; steps: number }) =>
      `${label(x.m)} ${Number.isFinite(x.steps) ? x.steps : '∞'}`;
    const ours = `median step reaching ${RULES.solved}·B: ${medians.map(show).join(', ')}`;
    if (few) return { ours, verdict: 'inconclusive' as const, why: few };
    const r = medians.filter((x) => refine.includes(x.m));
    const o = medians.filter((x) => !refine.includes(x.m));
    const rMax = Math.max(...r.map((x) => x.steps));
    const rMin = Math.min(...r.map((x) => x.steps));
    const oMin = Math.min(...o.map((x) => x.steps));
    if (!Number.isFinite(rMin) && !Number.isFinite(oMin))
      return { ours, verdict: 'inconclusive' as const, why: 'no group reached the threshold' };
    if (rMax < oMin)
      return { ours, verdict: 'holds' as const, why: 'every refine group reached it first' };
    if (oMin < rMin)
      return {
        ours,
        verdict: 'does not hold' as const,
        why: `${o
          .filter((x) => x.steps === oMin)
          .map(show)
          .join(', ')} reached it before every refine group`,
      };
    return { ours, verdict: 'inconclusive' as const, why: 'refine and other groups interleave' };
  };
}

/** +1: a clearly better than b; -1: b clearly better; 0: the interquartile ranges overlap. */
export function compare(a: Quartiles, b: Quartiles, higherIsBetter: boolean): 1 | -1 | 0 {
  const [up, down] = higherIsBetter ? [a, b] : [b, a];
  if (up.q1 > down.q3) return 1; // a's worse quartile beats b's better one
  if (down.q1 > up.q3) return -1;
  return 0;
}

function comparison(s: ReproSweep, a: string, others: string[], mode: 'better' | 'best' | 'worst') {
  const { groups, missing } = find(s, [a, ...others]);
  const few = tooFew(groups, missing);
  // Pixel sweeps track validation accuracy and end with a test accuracy: the comparison uses the test.
  const name = s.groups.some((g) => g.test)
    ? `test ${s.metric.label.replace(/^validation /, '')}`
    : `final ${s.metric.label}`;
  const ours = `${name} ${describe(groups)}`;
  if (few) return { ours, verdict: 'inconclusive' as const, why: few };
  const qa = value(groups[0]) as Quartiles;
  const sign = mode === 'worst' ? -1 : 1;
  const results = groups.slice(1).map((g) => ({
    m: g.mechanism,
    c: sign * compare(qa, value(g) as Quartiles, s.metric.higherIsBetter),
  }));
  const lost = results.filter((r) => r.c < 0).map((r) => label(r.m));
  const tied = results.filter((r) => r.c === 0).map((r) => label(r.m));
  const word = mode === 'worst' ? 'worse' : 'better';
  if (lost.length > 0)
    return {
      ours,
      verdict: 'does not hold' as const,
      why: `${label(a)} is clearly ${mode === 'worst' ? 'better' : 'worse'} than ${lost.join(', ')}`,
    };
  if (tied.length > 0)
    return {
      ours,
      verdict: 'inconclusive' as const,
      why: `interquartile ranges overlap with ${tied.join(', ')}`,
    };
  return {
    ours,
    verdict: 'holds' as const,
    why: `interquartile ranges apart: ${label(a)} ${word} than ${others.map(label).join(', ')}`,
  };
}

/** "A is better than each of B" by the interquartile rule. */
export function better(a: string, others: string[]) {
  return (s: ReproSweep) => comparison(s, a, others, 'better');
}

/** "A is the best of the sweep's groups." */
export function best(a: string) {
  return (s: ReproSweep) =>
    comparison(
      s,
      a,
      s.groups.map((g) => g.mechanism).filter((m) => m !== a),
      'best',
    );
}

/** "A is the worst of the sweep's groups." */
export function worst(a: string) {
  return (s: ReproSweep) =>
    comparison(
      s,
      a,
      s.groups.map((g) => g.mechanism).filter((m) => m !== a),
      'worst',
    );
}

/** "Each of A is better than B." */
export function eachBetter(as: string[], b: string) {
  return (s: ReproSweep): Judgement => {
    const parts = as.map((a) => comparison(s, a, [b], 'better'));
    const { ours } = comparison(s, b, as, 'better');
    const verdict: Verdict = parts.every((p) => p.verdict === 'holds')
      ? 'holds'
      : parts.some((p) => p.verdict === 'does not hold')
        ? 'does not hold'
        : 'inconclusive';
    const why = parts
      .filter((p) => p.verdict === verdict)
      .map((p) => p.why)
      .join('; ');
    return { ours, verdict, why };
  };
}

/** The claims, in the paper's order; `sweep` names the docs file repro-<sweep>-results.json. */
export const CLAIMS: Claim[] = [
  {
    sweep: 'copy-all',
    command: 'npm run repro:copy-all',
    paper: 'Fig. 3a (copy, N=500): `OR-`, `UR-`, `O-`, `C-` solve it',
    judge: solves(['OR-', 'UR-', 'O-', 'C-']),
  },
  {
    sweep: 'copy-all',
    command: 'npm run repro:copy-all',
    paper: 'Fig. 3a: `-`, `R-`, `OM-`, `UM-` stay at the baseline',
    judge: staysAtBaseline(['-', 'R-', 'OM-', 'UM-']),
  },
  {
    sweep: 'copy-all',
    command: 'npm run repro:copy-all',
    paper: 'Fig. 3a: `U-` makes slow progress',
    judge: slowProgress('U-'),
  },
  {
    sweep: 'adding',
    command: 'npm run repro:adding',
    paper: 'Fig. 3b (adding, N=2000): every mechanism but `-` solves it',
    judge: solves(['C-', 'U-', 'R-', 'UR-', 'OR-']),
  },
  {
    sweep: 'adding',
    command: 'npm run repro:adding',
    paper: 'Fig. 3b: the plain LSTM `-` does not solve it',
    judge: staysAtBaseline(['-']),
  },
  {
    sweep: 'adding',
    command: 'npm run repro:adding',
    paper: 'Fig. 3b: the refine variants (`R-`, `UR-`, `OR-`) learn fastest',
    judge: refineFastest(['R-', 'UR-', 'OR-']),
  },
  {
    sweep: 'pixel',
    command: 'npm run repro:pixel',
    paper: 'Tables 2–3 (pMNIST): `UR-` LSTM above `-` (96.43 vs 94.77 best validation)',
    judge: better('UR-', ['-']),
  },
  {
    sweep: 'lm',
    command: 'npm run repro:lm',
    paper: 'Table 6a (WikiText-103): `UR-` has the lowest perplexity (34.6 test)',
    judge: best('UR-'),
  },
  {
    sweep: 'lm',
    command: 'npm run repro:lm',
    paper: 'Table 6a: `U-`, `OM-`, `UR-` below the LSTM `-` (34.9, 34.7, 34.6 vs 35.8 test)',
    judge: eachBetter(['U-', 'OM-', 'UR-'], '-'),
  },
  {
    sweep: 'lm',
    command: 'npm run repro:lm',
    paper: 'Table 6a: `C-` (Tmax 8) is the worst (36.1 test)',
    judge: worst('C-'),
  },
];

/** "N=100, hidden 128, batch 32, lr 0.002, 3000 steps, 3 seeds" from the sweep's run configs. */
export function settingOf(s: ReproSweep): string {
  const c = s.runs.find((r) => r.config !== null)?.config ?? {};
  const seeds = new Set(s.runs.map((r) => (r.config?.seed ?? r.id) as string | number)).size;
  const parts: string[] = [];
  const add = (key: string, text: (v: unknown) => string) => {
    if (c[key] !== undefined && c[key] !== null && c[key] !== 0) parts.push(text(c[key]));
  };
  if (s.task !== 'lm') parts.push(String(s.task));
  else parts.push('embedded corpus');
  add('length', (v) => `N=${v}`);
  add('hiddenSize', (v) => `hidden ${v}`);
  add('bptt', (v) => `BPTT ${v}`);
  add('batchSize', (v) => `batch ${v}`);
  add('lr', (v) => `lr ${v}`);
  add('steps', (v) => `${v} steps`);
  add('tMax', (v) => `C- Tmax ${v}`);
  add('downsize', (v) => `OM-/UM- C=${v}`);
  parts.push(`${seeds} seeds`);
  return parts.join(', ');
}

/** The REPRODUCTION.md text: the rules, then one row per claim; a sweep not yet run is said so. */
export function reproductionMarkdown(sweeps: Record<string, ReproSweep | undefined>): string {
  const cell = (t: string) => t.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = CLAIMS.map((claim) => {
    const s = sweeps[claim.sweep];
    if (!s)
      return [
        claim.paper,
        '–',
        'not run yet',
        '**inconclusive**: no results file',
        `\`${claim.command}\``,
      ];
    const j = claim.judge(s);
    return [
      claim.paper,
      settingOf(s),
      j.ours,
      `**${j.verdict}**: ${j.why}`,
      `\`${claim.command}\``,
    ];
  });
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [
    "# Reproduction of the paper's claims at reduced scale",
    '',
    "Generated by `urgate repro report` from the sweeps' `repro-<name>-results.json` in this",
    'directory; do not edit by hand. Each sweep is resumable; its table and figures sit next to this',
    'file (`repro-<name>-results.md`, `repro-<name>-learning-curves.png`, `repro-<name>-final-metric.png`).',
    "Reduced scale: a verdict says what holds *in our setting*, not at the paper's.",
    '',
    line([
      "paper's result",
      'our reduced setting',
      'our result (median [q1, q3] over seeds)',
      'verdict',
      'command',
    ]),
    line(['---', '---', '---', '---', '---']),
    ...rows.map(line),
    '',
    '## Rules of the verdicts',
    '',
    ...RULES_TEXT.map((t) => `- ${t}`),
    '',
  ].join('\n');
}
