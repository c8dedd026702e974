#!/usr/bin/env node
// @ts-check
// Writes the embedded default corpus (State of the Union addresses, public domain) as
// WikiText-format wiki.{train,valid,test}.tokens. Uses the built @urgate/wikitext
// (run `npx tsc -b packages/wikitext` or `npm run build` first).
// Usage: node datasets/sotu/prepare.mjs [outDir]   (default: datasets/sotu/data)
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSotuCorpus } from '@urgate/wikitext';

const outDir = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), 'data'));
const result = await writeSotuCorpus(outDir);
for (const split of /** @type {const} */ (['train', 'valid', 'test'])) {
  const s = result.speeches[split];
  console.log(`${result.files[split]}: ${s.count} speeches, ${s.firstYear}–${s.lastYear}`);
}
