import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel } from '@urgate/onnx/runtime';
import { type TinyModel, tinyModel, WORDS } from '@urgate/test-support';
import { prepareSplit, WordTokenizer } from '@urgate/wikitext';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { evalCommand, runEval } from '../src/commands/eval.js';
import { expectOneLineErrors, runCommand } from './runCommand.js';

function run(args: string[]) {
  return runCommand(evalCommand, args);
}

// Two articles; tokens per line 5, 1, 8, 5, 8 (words + <eos>): 27 tokens and words, articles at 0 and 14.
const TEST_SPLIT = [
  ' = the cat = ',
  ' ',
  ' the cat sat on the mat . ',
  ' = a dog = ',
  ' the dog ran to the house . ',
]
  .map((line) => `${line}\n`)
  .join('');
const IDS = [
  12, 2, 3, 12, 1, 1, 2, 3, 4, 5, 2, 6, 15, 1, 12, 7, 8, 12, 1, 2, 8, 9, 10, 2, 11, 15, 1,
];

/** Independent reference: the step graph token by token, state zeroed before each article's first token. */
async function stepNll(stepPath: string, stream: number[], resetAt: Set<number>): Promise<number> {
  const model = await openModel(stepPath);
  const { numLayers: L, hiddenSize: d } = model.metadata.model;
  const zeros = () => new ort.Tensor('float32', new Float32Array(L * d), [L, 1, d]);
  let h: ort.Tensor = zeros();
  let c: ort.Tensor = zeros();
  let nll = 0;
  for (let i = 0; i + 1 < stream.length; i++) {
    if (resetAt.has(i)) [h, c] = [zeros(), zeros()];
    const r = await model.session.run({
      tokens: new ort.Tensor('int64', BigInt64Array.of(BigInt(stream[i])), [1]),
      h_in: h,
      c_in: c,
    });
    [h, c] = [r.h_out, r.c_out];
    const logits = r.logits.data as Float32Array;
    const max = Math.max(...logits);
    const lse = max + Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0));
    nll += lse - logits[stream[i + 1]];
  }
  await model.close();
  return nll;
}

describe('urgate eval', () => {
  let tiny: TinyModel;
  let dataDir: string;
  beforeAll(async () => {
    tiny = await tinyModel();
    dataDir = await mkdtemp(join(tmpdir(), 'urgate-eval-data-'));
    await writeFile(join(dataDir, 'wiki.test.tokens'), TEST_SPLIT);
  });

  it('builds the cache with the model tokenizer, then reports token/word perplexity and bits per byte', async () => {
    const cache = join(tiny.dir, 'cache');
    const r = await runEval('test', {
      onnx: tiny.sequence,
      cache,
      dataDir,
      provider: 'cpu',
      batchSize: 1,
    });
    const nll = await stepNll(tiny.step, [1, ...IDS], new Set([1, 15]));
    const bytes = Buffer.byteLength(TEST_SPLIT);
    expect({ tokens: r.tokens, words: r.words, bytes: r.bytes }).toEqual({
      tokens: 27,
      words: 27,
      bytes,
    });
    expect(r.totalNll).toBeCloseTo(nll, 3);
    expect(r.tokenPerplexity).toBeCloseTo(Math.exp(nll / 27), 3);
    expect(r.wordPerplexity).toBeCloseTo(Math.exp(nll / 27), 3);
    expect(r.bitsPerByte).toBeCloseTo(nll / Math.LN2 / bytes, 4);
    // The cache is now there: --cache alone reads it; the CLI prints the same numbers.
    const cli = await run(['test', '--onnx', tiny.sequence, '--cache', cache, '--json']);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.out)).toMatchObject({
      tokens: 27,
      totalNll: r.totalNll,
      bitsPerByte: r.bitsPerByte,
    });
    const text = await run(['test', '--onnx', tiny.sequence, '--cache', cache]);
    expect(text.out).toMatch(/^test: 27 tokens, 27 words, \d+ bytes/);
    expect(text.out).toContain(`word perplexity   ${r.wordPerplexity.toFixed(3)}`);
  });

  it("batch size B > 1 scores the articles side by side with the one stream's result", async () => {
    const exact = await stepNll(tiny.step, [1, ...IDS], new Set([1, 15]));
    for (const batchSize of [2, 3, 32]) {
      const r = await runEval('test', {
        onnx: tiny.sequence,
        cache: join(tiny.dir, 'cache-b'),
        dataDir,
        provider: 'cpu',
        batchSize,
      });
      expect(r.tokens).toBe(27);
      expect(r.totalNll).toBeCloseTo(exact, 3);
    }
  });

  it('refuses a cache made by another tokenizer, a graph of the wrong kind, a missing cache, a model without tokenizer', async () => {
    const otherCache = join(tiny.dir, 'other-cache');
    await mkdir(otherCache, { recursive: true });
    await prepareSplit({
      dataDir,
      split: 'test',
      tokenizer: new WordTokenizer([...WORDS, 'extra']),
      cacheDir: otherCache,
    });
    const bare = await tinyModel({ withTokenizer: false });
    const cases: [string[], RegExp][] = [
      [
        ['test', '--onnx', tiny.sequence, '--cache', otherCache],
        /^urgate eval: the test cache in .* was made by a word tokenizer \(17 ids, vocabulary sha256 \w+\), but .* was trained with a word tokenizer \(16 ids/,
      ],
      [
        ['test', '--onnx', tiny.step, '--cache', otherCache],
        /is a lm-step graph; eval needs a language model's sequence graph/,
      ],
      [
        ['valid', '--onnx', tiny.sequence, '--cache', otherCache],
        /^urgate eval: no prepared valid split in .*other-cache/,
      ],
      [
        ['test', '--onnx', bare.sequence, '--cache', otherCache],
        /carries no serialized tokenizer in its metadata/,
      ],
      [
        ['test', '--onnx', join(tiny.dir, 'nope.onnx'), '--cache', otherCache],
        /^urgate eval: openModel: cannot read/,
      ],
    ];
    await expectOneLineErrors(run, cases);
    await expect(run(['dev', '--onnx', tiny.sequence, '--cache', otherCache])).rejects.toThrow(
      /Allowed choices are train, valid, test/,
    );
  });
});
