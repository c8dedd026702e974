#!/usr/bin/env node
// @ts-check
// Syntax check of every tracked plain JavaScript script (.mjs): `node --check`. Scripts that start
// with `// @ts-check` are also type-checked strictly by tsconfig.check.json.
import { execFileSync, spawnSync } from 'node:child_process';

const files = execFileSync('git', ['ls-files', '*.mjs'], { encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);
let failed = 0;
for (const file of files) {
  const r = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
  if (r.status !== 0) {
    failed += 1;
    process.stderr.write(
      `check-scripts: ${file}: ${r.stderr.trim().split('\n').slice(0, 5).join(' ')}\n`,
    );
  }
}
process.exitCode = failed > 0 ? 1 : 0;
