// The command line as the README describes it: the same commands, the flags it names exist, the
// output defaults it states are the ones --help gives; and the commands are adapters side by side
// (no command module imports another, so none is a library of another).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { urgateProgram } from '../src/program.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const commandsDir = fileURLToPath(new URL('../src/commands/', import.meta.url));

/** The rows of the README's table under "## The `urgate` command": first cell, whole row. */
function readmeRows(): { name: string; row: string }[] {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const section = readme.split('## The `urgate` command')[1].split('\n## ')[0];
  return section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((row) => ({ name: /^\| `([a-z]+)/.exec(row)?.[1] ?? '', row }));
}

/** Every long flag of a command and its subcommands, with its help text and default. */
function flags(cmd: Command): Map<string, string> {
  const all = new Map<string, string>([['--help', 'display help for command']]);
  for (const o of cmd.options)
    if (o.long) all.set(o.long, `${o.description} ${o.defaultValue ?? ''}`);
  for (const sub of cmd.commands)
    for (const [k, v] of flags(sub)) all.set(k, all.has(k) ? `${all.get(k)}\n${v}` : v);
  return all;
}

describe('urgate --help and the README', () => {
  const program = urgateProgram();
  const rows = readmeRows();

  it('list the same commands, and each subcommand in its command row', () => {
    expect(rows.map((r) => r.name).sort()).toEqual(program.commands.map((c) => c.name()).sort());
    for (const cmd of program.commands) {
      const row = rows.find((r) => r.name === cmd.name())?.row ?? '';
      for (const sub of cmd.commands) expect(row).toMatch(new RegExp(`\\b${sub.name()}\\b`));
    }
  });

  it('name only flags the command has', () => {
    for (const { name, row } of rows) {
      const cmd = program.commands.find((c) => c.name() === name) as Command;
      const known = flags(cmd);
      for (const flag of row.match(/--[a-z][a-z0-9-]*/g) ?? [])
        expect(known.has(flag), `README's ${name} row names ${flag}`).toBe(true);
    }
  });

  it('state the output defaults that --out gives', () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const convention = readme.split('One convention for outputs:')[1].split('\n\n')[0];
    const defaults = [...convention.matchAll(/`(runs\/[^`]+)`/g)].map((m) => m[1]);
    expect(defaults.length).toBeGreaterThanOrEqual(4);
    const outHelp = program.commands.flatMap((c) => flags(c).get('--out') ?? []).join('\n');
    // The example (runs/lm-UR-lstm-seed1) is the pattern filled in; the patterns are in --help.
    for (const d of defaults.filter((d) => !d.includes('seed1'))) expect(outHelp).toContain(d);
  });
});

describe('the commands', () => {
  it('import no other command: what two share lives beside them, not in one of them', () => {
    for (const file of readdirSync(commandsDir)) {
      const text = readFileSync(`${commandsDir}${file}`, 'utf8');
      const local = [...text.matchAll(/from '\.\/([^']+)'/g)].map((m) => m[1]);
      expect(
        local.filter((m) => m !== 'common.js'),
        file,
      ).toEqual([]);
    }
  });
});
