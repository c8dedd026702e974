import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  evalBatches,
  loadPreparedSplit,
  NllAccumulator,
  perplexityReport,
  prepareCorpus,
} from '../src/index.js';
import { removeDir, tempDir, writeTextRelease } from './fixtures.js';

describe('perplexity helpers', () => {
  it('match a direct computation from per-token probabilities', () => {
    // A subword model: 6 pieces for 4 words (incl. <eos>) over 20 bytes of text.
    const probs = [0.5, 0.25, 0.1, 0.8, 0.05, 0.4];
    const acc = new NllAccumulator();
    acc.add(Float32Array.from(probs, (p) => -Math.log(p)));
    const product = probs.reduce((a, p) => a * p, 1); // 0.0002
    const report = perplexityReport(acc.total, { tokens: 6, words: 4, bytes: 20 });
    expect(product).toBeCloseTo(0.0002, 12);
    expect(report.tokenPerplexity).toBeCloseTo(product ** (-1 / 6), 5);
    expect(report.wordPerplexity).toBeCloseTo(product ** (-1 / 4), 4); // 0.0002^-0.25 = 8.4090
    expect(report.wordPerplexity).toBeCloseTo(8.409, 3);
    expect(report.bitsPerByte).toBeCloseTo(-Math.log2(product) / 20, 6);
    expect(acc.count).toBe(6);
  });

  it('skips masked entries and rejects bad counts', () => {
    const acc = new NllAccumulator();
    acc.add([1, 2, 3, 4], [1, 0, 1, 0]);
    expect(acc.total).toBe(4);
    expect(acc.count).toBe(2);
    expect(() => acc.add([1, 2], [1])).toThrow(/mask has 1 entries but nll has 2/);
    expect(() => perplexityReport(1, { tokens: 0, words: 1, bytes: 1 })).toThrow(
      /counts\.tokens must be positive/,
    );
  });

  it('a uniform model over V words has word perplexity V on a whole split', async () => {
    const dir = await tempDir();
    await writeTextRelease(join(dir, 'data'), 'tokens');
    const { tokenizer } = await prepareCorpus({
      dataDir: join(dir, 'data'),
      cacheDir: join(dir, 'cache'),
      tokenizer: { kind: 'word' },
    });
    const split = await loadPreparedSplit(join(dir, 'cache'), 'train');
    const acc = new NllAccumulator();
    for (const batch of evalBatches(split.ids, split.articleStarts, {
      bptt: 7,
      eosId: tokenizer.eosId,
      batchSize: 3,
    })) {
      acc.add(new Float32Array(batch.mask.length).fill(Math.log(tokenizer.vocabSize)), batch.mask);
    }
    expect(acc.count).toBe(split.manifest.counts.words);
    expect(perplexityReport(acc.total, split.manifest.counts).wordPerplexity).toBeCloseTo(
      tokenizer.vocabSize,
      4,
    );
    await removeDir(dir);
  });
});
