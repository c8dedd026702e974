#!/usr/bin/env node
// The `urgate` command as npm links it. npm links workspace bins at install time, before
// `npm run build` has written dist/, so the linked file is this committed one; it runs the
// built command line.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'urgate: the command line is not built yet: run `npm run build` in the repository\n',
  );
  process.exit(1);
}
await import(entry.href);
