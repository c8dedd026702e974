import { join } from 'node:path';
import type { DistributionSummary } from '@urgate/cells';
import { type Core, MECHANISMS, type Mechanism } from '@urgate/contract';
import { Command, Option } from 'commander';
import { downsizeOption, integer, nonNegativeNumber, positiveInteger } from './common.js';

// tfjs and the plotting stack load only when the command runs, so that `urgate --help` and
// other commands (a server must start without tfjs) do not pay for them.
const CORE_CHOICES: readonly Core[] = ['lstm', 'gru'];

export interface GatesOptions {
  core: Core;
  hiddenSize: number;
  /** Master-gate downsize C of OM- and UM- (default 16). */
  downsize?: number;
  seed: number;
  /** Scale of the N(0, 1) inputs fed to the first step; 0 gives the bias-only gates. */
  inputScale: number;
  json: boolean;
  /** Directory for the figures; none are written without it. */
  out?: string;
}

export interface MechanismGates {
  mechanism: Mechanism;
  forget: DistributionSummary;
  decay: DistributionSummary;
}

export interface GatesReport {
  core: Core;
  hiddenSize: number;
  seed: number;
  inputScale: number;
  quantiles: readonly number[];
  mechanisms: MechanismGates[];
  figures: string[];
}

export const REFINE_CURVE_RS = [0, 0.25, 0.5, 0.75, 1] as const;

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : String(v);
  return Math.abs(v) >= 1000 ? v.toExponential(2) : v.toPrecision(4);
}

/** Two plain-text tables (F and D) with one row per mechanism. */
export function formatGatesTable(report: GatesReport): string {
  const header = [
    'mechanism',
    'mean',
    ...report.quantiles.map((q) => `q${String(Math.round(q * 100)).padStart(2, '0')}`),
  ];
  const table = (title: string, pick: (m: MechanismGates) => DistributionSummary) => {
    const rows = report.mechanisms.map((m) => {
      const s = pick(m);
      return [m.mechanism, formatNumber(s.mean), ...s.quantiles.map(formatNumber)];
    });
    const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
    const line = (cells: string[]) =>
      cells.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join('  ');
    return [title, line(header), ...rows.map(line)].join('\n');
  };
  const what = `${report.core}, hidden size ${report.hiddenSize}, seed ${report.seed}, inputs N(0, ${report.inputScale}²), per-unit mean over the batch`;
  return [
    table(`Initial forget activation F (${what})`, (m) => m.forget),
    '',
    table('Initial decay period D = 1 / (1 - F)', (m) => m.decay),
  ].join('\n');
}

/** Samples every mechanism's initial gates, and writes the figures when `out` is given. */
export async function runGates(options: GatesOptions): Promise<GatesReport> {
  const { ANALYSIS_QUANTILES, refineGateCurves, sampleAllInitialForget, summarize } = await import(
    '@urgate/cells'
  );
  const samples = sampleAllInitialForget({
    core: options.core,
    hiddenSize: options.hiddenSize,
    downsize: options.downsize,
    seed: options.seed,
    inputScale: options.inputScale,
  });
  const report: GatesReport = {
    core: options.core,
    hiddenSize: options.hiddenSize,
    seed: options.seed,
    inputScale: options.inputScale,
    quantiles: ANALYSIS_QUANTILES,
    mechanisms: samples.map((s) => ({
      mechanism: s.mechanism,
      forget: summarize(s.forget),
      decay: summarize(s.decay),
    })),
    figures: [],
  };
  if (options.out !== undefined) {
    const { histogramSpec, lineChartSpec, writeFigure } = await import('@urgate/experiments');
    const refine = lineChartSpec(refineGateCurves(REFINE_CURVE_RS), {
      title: 'Refine gate: effective g = 2rf + (1 - 2r)f²',
      x: { field: 'f', title: 'forget activation f' },
      y: { field: 'g', title: 'effective gate g' },
      color: { field: 'r', title: 'refine r' },
    });
    const perUnit = samples.flatMap((s) =>
      Array.from(s.forget, (f, k) => ({
        mechanism: s.mechanism,
        f,
        log10D: Math.min(Math.log10(s.decay[k]), 8),
      })),
    );
    const facet = { field: 'mechanism', columns: 3, sort: [...MECHANISMS] };
    const forget = histogramSpec(perUnit, {
      title: `Initial forget activations (${options.core}, d = ${options.hiddenSize})`,
      field: 'f',
      fieldTitle: 'F',
      extent: [0, 1],
      facet,
    });
    const decay = histogramSpec(perUnit, {
      title: `Initial decay periods (${options.core}, d = ${options.hiddenSize}; ∞ shown at 8)`,
      field: 'log10D',
      fieldTitle: 'log10 D',
      facet,
    });
    for (const [name, spec] of [
      ['refine-gate', refine],
      [`forget-init-${options.core}`, forget],
      [`decay-init-${options.core}`, decay],
    ] as const) {
      const paths = await writeFigure(join(options.out, name), spec);
      report.figures.push(paths.svg, paths.png);
    }
  }
  return report;
}

/** JSON with infinite decay periods written as the string "Infinity" (JSON has no infinity). */
export function gatesReportJson(report: GatesReport): string {
  return JSON.stringify(
    report,
    (_key, value) => (typeof value === 'number' && !Number.isFinite(value) ? String(value) : value),
    2,
  );
}

export interface CommandIO {
  write(text: string): void;
}

export function gatesCommand(
  io: CommandIO = { write: (text) => process.stdout.write(text) },
): Command {
  return new Command('gates')
    .description(
      'Initial forget-gate and decay-period distributions of every gate mechanism, with figures',
    )
    .addOption(new Option('--core <core>', 'recurrent core').choices(CORE_CHOICES).default('lstm'))
    .option('--hidden-size <n>', 'hidden size d', positiveInteger, 256)
    .addOption(downsizeOption())
    .option('--seed <n>', 'initialisation seed', integer, 0)
    .option(
      '--input-scale <s>',
      'standard deviation of the inputs of the sampled step (0: bias-only gates)',
      nonNegativeNumber,
      1,
    )
    .option('--json', 'print the report as JSON', false)
    .option('--out <dir>', 'write figures (SVG and PNG) to this directory')
    .action(async (opts: GatesOptions, command: Command) => {
      // A setting the sampler refuses (OM-/UM- with hidden/C not a whole number >= 2) is one
      // line naming it, and exit code 1.
      const report = await runGates(opts).catch((e: Error) =>
        command.error(`urgate gates: ${e.message.split('\n')[0]}`),
      );
      io.write(`${opts.json ? gatesReportJson(report) : formatGatesTable(report)}\n`);
      if (!opts.json && report.figures.length > 0)
        io.write(`\nfigures:\n${report.figures.map((f) => `  ${f}`).join('\n')}\n`);
    });
}
