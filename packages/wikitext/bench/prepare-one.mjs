// Child process of prepare.bench.mjs: builds the word vocabulary and the token cache of one
// train split, then reports times and this process's peak resident memory as JSON.
import { performance } from 'node:perf_hooks';
import {
  buildWordVocab,
  countWords,
  prepareSplit,
  readSplitLines,
  WordTokenizer,
} from '@urgate/wikitext';

const [dataDir, cacheDir] = process.argv.slice(2);
const t0 = performance.now();
const words = buildWordVocab(await countWords(readSplitLines(dataDir, 'train')));
const t1 = performance.now();
const { manifest } = await prepareSplit({
  dataDir,
  split: 'train',
  tokenizer: new WordTokenizer(words),
  cacheDir,
});
const t2 = performance.now();
console.log(
  JSON.stringify({
    vocabSeconds: (t1 - t0) / 1000,
    prepareSeconds: (t2 - t1) / 1000,
    vocabSize: words.length,
    counts: manifest.counts,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  }),
);
