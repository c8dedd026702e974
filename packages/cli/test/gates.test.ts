import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  formatGatesTable,
  type GatesReport,
  gatesCommand,
  runGates,
} from '../src/commands/gates.js';

const MECHANISMS = ['-', 'C-', 'O-', 'OM-', 'U-', 'R-', 'UR-', 'UM-', 'OR-'];
const sigma = (x: number) => 1 / (1 + Math.exp(-x));

async function runCli(args: string[]): Promise<string> {
  let out = '';
  const command = gatesCommand({ write: (text) => (out += text) }).exitOverride();
  await command.parseAsync(args, { from: 'user' });
  return out;
}

describe('urgate gates', () => {
  it('bias-only gates: constant-bias mechanisms sit at σ(1), chrono decays span [2, tMax], UGI is spread out', async () => {
    const report = await runGates({
      core: 'gru',
      hiddenSize: 64,
      seed: 3,
      inputScale: 0,
      json: false,
    });
    expect(report.mechanisms.map((m) => m.mechanism)).toEqual(MECHANISMS);
    const get = (name: string) =>
      report.mechanisms.find((m) => m.mechanism === name) as GatesReport['mechanisms'][number];
    for (const name of ['-', 'R-']) {
      // R- with b_f = 1, b_r = 0: g = 2·½·f + 0·f² = f.
      for (const q of get(name).forget.quantiles) expect(q).toBeCloseTo(sigma(1), 5);
      expect(get(name).decay.mean).toBeCloseTo(1 + Math.E, 4);
    }
    const chrono = get('C-').decay.quantiles;
    expect(chrono[0]).toBeGreaterThanOrEqual(2 - 1e-4);
    expect(chrono[chrono.length - 1]).toBeLessThanOrEqual(64 + 1e-2);
    const ugi = get('U-').forget.quantiles;
    expect(ugi[0]).toBeGreaterThanOrEqual(1 / 64 - 1e-6);
    expect(ugi[ugi.length - 1]).toBeLessThanOrEqual(1 - 1 / 64 + 1e-6);
    expect(ugi[3]).toBeGreaterThan(0.25);
    expect(ugi[3]).toBeLessThan(0.75);
    expect(report.figures).toEqual([]);
  });

  it('prints a table per quantity with a row per mechanism, and writes SVG and PNG figures with --out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'urgate-gates-'));
    const text = await runCli(['--hidden-size', '32', '--seed', '1', '--out', dir]);
    expect(text).toContain('Initial forget activation F (lstm, hidden size 32, seed 1');
    expect(text).toContain('Initial decay period D = 1 / (1 - F)');
    for (const m of MECHANISMS)
      expect(text).toMatch(new RegExp(`^${m.replace('-', '\\-')}\\s`, 'm'));
    for (const name of ['refine-gate', 'forget-init-lstm', 'decay-init-lstm']) {
      expect((await readFile(join(dir, `${name}.svg`), 'utf8')).startsWith('<svg')).toBe(true);
      expect(
        Array.from((await readFile(join(dir, `${name}.png`))).subarray(1, 4), (c) =>
          String.fromCharCode(c),
        ).join(''),
      ).toBe('PNG');
      expect(text).toContain(join(dir, `${name}.png`));
    }
  });

  it('--json prints the report, infinite decay periods as "Infinity"', async () => {
    const parsed = JSON.parse(await runCli(['--hidden-size', '32', '--core', 'gru', '--json']));
    expect(parsed.core).toBe('gru');
    expect(parsed.hiddenSize).toBe(32);
    expect(parsed.quantiles).toEqual([0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]);
    expect(parsed.mechanisms).toHaveLength(9);
    // The last ordered unit has cumax = 1: F = 1, an infinite decay period.
    const ordered = parsed.mechanisms.find((m: { mechanism: string }) => m.mechanism === 'O-');
    expect(
      ordered.decay.quantiles.at(-1) === 'Infinity' || ordered.decay.quantiles.at(-1) > 10,
    ).toBe(true);
    const direct = await runGates({
      core: 'gru',
      hiddenSize: 32,
      seed: 0,
      inputScale: 1,
      json: true,
    });
    expect(parsed.mechanisms[0]).toEqual(JSON.parse(JSON.stringify(direct.mechanisms[0])));
    expect(formatGatesTable(direct).split('\n')).toHaveLength(2 * (2 + 9) + 1);
  });

  it('rejects bad option values with the option name', async () => {
    await expect(runCli(['--hidden-size', 'abc'])).rejects.toThrow(
      /option '--hidden-size <n>' argument 'abc' is invalid\. expected a positive integer/,
    );
    await expect(runCli(['--core', 'rnn'])).rejects.toThrow(
      /argument 'rnn' is invalid\. Allowed choices are lstm, gru/,
    );
    await expect(runCli(['--seed', '1.5'])).rejects.toThrow(
      /'--seed <n>' argument '1.5' is invalid\. expected an integer/,
    );
  });

  it('refuses OM-/UM- master gates below 2 units (hidden/C) in one line naming the setting', async () => {
    const refused = async (args: string[]) => {
      let err = '';
      const command = gatesCommand({ write: () => {} })
        .exitOverride()
        .configureOutput({ writeErr: (text) => (err += text) });
      await expect(command.parseAsync(args, { from: 'user' })).rejects.toThrow();
      expect(err.trimEnd().split('\n')).toHaveLength(1);
      return err;
    };
    // hidden/C = 0.5: OM-'s master gates do not divide the units
    expect(await refused(['--hidden-size', '8'])).toMatch(
      /^urgate gates: downsize: 16 does not divide hiddenSize 8; mechanism 'OM-'/,
    );
    // hidden/C = 1: UM- draws its master biases from U[1/m, 1-1/m], empty for m = 1
    expect(await refused(['--hidden-size', '32', '--downsize', '32'])).toMatch(
      /^urgate gates: downsize: 'UM-' initialises its 1 master unit\(s\) .* needs hiddenSize\/downsize >= 2/,
    );
    const ok = await runGates({
      core: 'lstm',
      hiddenSize: 16,
      downsize: 8,
      seed: 0,
      inputScale: 1,
      json: false,
    });
    expect(ok.mechanisms).toHaveLength(9);
  });
});
