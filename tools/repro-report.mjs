#!/usr/bin/env node
// @ts-check
// Writes DOCS/REPRODUCTION.md (default packages/train/docs) from the sweeps' results files there,
// DOCS/repro-<sweep>-results.json, which the tools/repro-*.sh reproductions copy in. The verdicts
// come from @urgate/train's reproduction rules; a sweep without a results file is "not run yet".
// Usage: node tools/repro-report.mjs [DOCS]   (after `npm run build`)
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@urgate/files';
import { CLAIMS, reproductionMarkdown } from '@urgate/train';

const docs = process.argv[2] ?? 'packages/train/docs';
/** @type {Record<string, import('@urgate/train').ReproSweep>} */
const sweeps = {};
for (const name of new Set(CLAIMS.map((c) => c.sweep))) {
  const path = join(docs, `repro-${name}-results.json`);
  if (!existsSync(path)) continue;
  try {
    sweeps[name] = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    process.stderr.write(`repro-report: ${path}: not JSON (${/** @type {Error} */ (e).message})\n`);
    process.exit(1);
  }
}
const out = join(docs, 'REPRODUCTION.md');
await writeFileAtomic(out, reproductionMarkdown(sweeps));
process.stdout.write(
  `${out}: ${Object.keys(sweeps).length} sweep(s): ${Object.keys(sweeps).join(', ') || 'none'}\n`,
);
