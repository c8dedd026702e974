// Exact resume of the LM trainer: a run stopped and resumed (across an epoch boundary, with
// dropout) writes the same bytes as an uninterrupted one; two uninterrupted runs do too.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeAvailable } from '@urgate/kernels';
import { prepareCorpus } from '@urgate/wikitext';
import { describe, expect, it } from 'vitest';
import { resolveLmConfig } from '../src/lm/config.js';
import { LM_FILES, trainLm } from '../src/lm/trainer.js';

const SENTENCE = 'the cat sat on the mat . the dog ran to the cat .';
const article = (title: string, lines: number) =>
  ` \n = ${title} = \n \n${Array.from({ length: lines }, () => ` ${SENTENCE} \n \n`).join('')}`;

async function corpus(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'urgate-lm-resume-'));
  writeFileSync(join(dir, 'wiki.train.tokens'), article('One', 6) + article('Two', 6));
  writeFileSync(join(dir, 'wiki.valid.tokens'), article('Three', 2));
  writeFileSync(join(dir, 'wiki.test.tokens'), article('Four', 2));
  await prepareCorpus({ dataDir: dir, cacheDir: join(dir, 'cache'), tokenizer: { kind: 'word' } });
  return dir;
}

const config = resolveLmConfig({
  hiddenSize: 8,
  bptt: 6,
  batchSize: 3,
  steps: 30, // about two and a half epochs of this corpus
  dropout: 0.2,
  evalEvery: 7,
  checkpointEvery: 5,
});

const BIT_EXACT = [LM_FILES.checkpoint, LM_FILES.model, LM_FILES.metrics];

describe.skipIf(!nativeAvailable)('LM resume', () => {
  it('stopped twice and resumed, the run ends with the files of an uninterrupted run', async () => {
    const dir = await corpus();
    const cacheDir = join(dir, 'cache');
    const whole = join(dir, 'whole');
    const again = join(dir, 'again');
    const split = join(dir, 'split');
    const base = { cacheDir, progress: null } as const;
    const a = await trainLm(config, { ...base, outDir: whole });
    expect(a.epochs).toBeGreaterThan(2);
    await trainLm(config, { ...base, outDir: again });
    await trainLm(config, { ...base, outDir: split, stopAfter: 8 });
    await trainLm(config, { ...base, outDir: split, resume: true, stopAfter: 9 });
    const b = await trainLm(config, { ...base, outDir: split, resume: true });
    for (const file of BIT_EXACT) {
      expect(readFileSync(join(again, file)).equals(readFileSync(join(whole, file)))).toBe(true);
      expect(readFileSync(join(split, file)).equals(readFileSync(join(whole, file))), file).toBe(
        true,
      );
    }
    expect(b.valid).toEqual(a.valid);
    expect(b.test).toEqual(a.test);
    expect(readdirSync(split).sort()).toEqual(Object.values(LM_FILES).sort());
  });

  it('refuses to resume with other settings, naming the setting', async () => {
    const dir = await corpus();
    const out = join(dir, 'run');
    const base = { cacheDir: join(dir, 'cache'), outDir: out, progress: null } as const;
    await trainLm(config, { ...base, stopAfter: 2 });
    await expect(
      trainLm(resolveLmConfig({ ...config, dropout: 0.3 }), { ...base, resume: true }),
    ).rejects.toThrow(
      /--resume: .*checkpoint\.safetensors was trained with dropout 0\.2, this run has 0\.3/,
    );
  });
});
