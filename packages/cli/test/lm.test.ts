import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromSource } from '@urgate/source-hooks';
import { trainSentencePiece } from '@urgate/wikitext';
import { beforeAll, describe, expect, it } from 'vitest';
import { lmCommand } from '../src/commands/lm.js';
import { runCommand, urgateBin } from './runCommand.js';

const run = (args: string[]) => runCommand(lmCommand, args);

/** A failed prepare's stderr: its progress lines, then the one error line. */
const lastLine = (err: string) => err.trimEnd().split('\n').pop();

/**
 * A seeded WikiText-format corpus: `articles` articles of `lines` lines of 12 words, made of
 * 1-3 syllables, or (`letters`) of 2-8 random letters: nearly every word distinct, which keeps
 * spm_train busy for seconds on a few MB.
 */
function corpus(articles: number, lines: number, seed: number, letters = false): string {
  let s = seed;
  const pick = (n: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return Math.floor((s / 2 ** 31) * n);
  };
  const syllable = () => `${'bdfgklmnprstvz'[pick(14)]}${'aeiou'[pick(5)]}`;
  const letter = () => 'abcdefghijklmnopqrstuvwxyz'[pick(26)];
  const word = letters
    ? () => Array.from({ length: 2 + pick(7) }, letter).join('')
    : () => Array.from({ length: 1 + pick(3) }, syllable).join('');
  let text = '';
  for (let a = 0; a < articles; a++) {
    text += ` = Article ${a} = \n \n`;
    for (let l = 0; l < lines; l++)
      text += ` ${Array.from({ length: 12 }, word).join(' ')} . \n \n`;
  }
  return text;
}

async function writeCorpus(dir: string, trainArticles: number, letters = false): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'wiki.train.tokens'), corpus(trainArticles, 20, 1, letters));
  await writeFile(join(dir, 'wiki.valid.tokens'), corpus(2, 5, 2));
  await writeFile(join(dir, 'wiki.test.tokens'), corpus(2, 5, 3));
}

const tinyTrain = ['--hidden-size', '8', '--batch-size', '4', '--bptt', '8'];
const tinyBudget = ['--steps', '3', '--eval-every', '3', '--checkpoint-every', '3'];

let root: string;
let data: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'urgate-cli-lm-'));
  data = join(root, 'data');
  await writeCorpus(data, 10);
});

describe('urgate lm prepare: SentencePiece', () => {
  /** A SentencePiece model of 100 pieces trained on the corpus, and its cache at `cache`. */
  const prepareSentencePiece = (cache: string) =>
    run([
      'prepare',
      '--data-dir',
      data,
      '--tokenizer',
      'sentencepiece',
      '--vocab-size',
      '100',
      '--out',
      cache,
    ]);

  it('--spm-model: a user model through prepare, train and eval', async () => {
    const trained = await trainSentencePiece(
      (async function* () {
        yield* corpus(10, 20, 7).split('\n');
      })(),
      { modelPrefix: join(root, 'user'), vocabSize: 120 },
    );
    const cache = join(root, 'user-cache');
    const prepared = await run([
      'prepare',
      '--data-dir',
      data,
      '--spm-model',
      trained.modelPath,
      '--cache',
      cache,
    ]);
    expect(prepared.code, prepared.err).toBe(0);
    expect(prepared.out).toMatch(/^cache .*: vocabulary 120\n {2}train: \d+ tokens/);
    const sha256 = createHash('sha256').update(readFileSync(trained.modelPath)).digest('hex');
    const manifest = JSON.parse(await readFile(join(cache, 'train.json'), 'utf8'));
    expect(manifest.tokenizer).toEqual({ kind: 'sentencepiece', checksum: sha256, vocabSize: 120 });

    const out = join(root, 'user-run');
    const train = await run(['train', '--cache', cache, '--out', out, ...tinyTrain, ...tinyBudget]);
    expect(train.err).toBe('');
    expect(train.code).toBe(0);
    const trainValid = /valid: word ppl ([\d.]+), token ppl ([\d.]+)/.exec(train.out);
    expect(trainValid, train.out).not.toBeNull();
    const evaluated = await run(['eval', join(out, 'model.safetensors'), '--json']);
    expect(evaluated.code).toBe(0);
    const report = JSON.parse(evaluated.out);
    // The same model on the same split: eval reports what the run's final validation did.
    expect(report.wordPerplexity.toFixed(2)).toBe(trainValid?.[1]);
    expect(report.tokenPerplexity.toFixed(2)).toBe(trainValid?.[2]);
    expect(report.words).toBe(
      JSON.parse(await readFile(join(cache, 'valid.json'), 'utf8')).counts.words,
    );
    // One row reads the stream literally; the default scores its articles side by side.
    const oneRow = await run([
      'eval',
      join(out, 'model.safetensors'),
      '--batch-size',
      '1',
      '--json',
    ]);
    expect(oneRow.code).toBe(0);
    expect(JSON.parse(oneRow.out).totalNll).toBeCloseTo(report.totalNll, 3);
  });

  it('two identical prepares give identical caches, and eval accepts either', async () => {
    const caches = [join(root, 'spm-a'), join(root, 'spm-b')];
    for (const cache of caches) {
      const r = await prepareSentencePiece(cache);
      expect(r.code, r.err).toBe(0);
    }
    const [a, b] = caches;
    expect(readdirSync(b).sort()).toEqual(readdirSync(a).sort());
    for (const file of readdirSync(a))
      expect(readFileSync(join(b, file)), file).toEqual(readFileSync(join(a, file)));
    const out = join(root, 'spm-run');
    expect(
      (await run(['train', '--cache', a, '--out', out, ...tinyTrain, ...tinyBudget])).code,
    ).toBe(0);
    const model = join(out, 'model.safetensors');
    const onA = await run(['eval', model, '--cache', a, '--json']);
    const onB = await run(['eval', model, '--cache', b, '--json']);
    expect(onB.err).toBe('');
    expect(onB.out).toBe(onA.out);
  });

  it('--adaptive-softmax: cutoffs beyond the vocabulary, a vocabulary not sorted by frequency: one line each', async () => {
    const cache = join(root, 'spm-adaptive');
    const prepared = await prepareSentencePiece(cache);
    expect(prepared.code, prepared.err).toBe(0);
    const train = (cutoffs: string) =>
      run([
        'train',
        '--cache',
        cache,
        '--out',
        join(root, 'adaptive-run'),
        ...tinyTrain,
        ...tinyBudget,
        '--adaptive-softmax',
        cutoffs,
        '--tail-div',
        '2',
      ]);
    for (const [cutoffs, pattern] of [
      [
        '20,100',
        /adaptiveSoftmax\.cutoffs: expected strictly increasing integers in \(0, 100\) \(the vocabulary size\), got 20,100\n/,
      ],
      // SentencePiece orders pieces by score, not by count
      [
        '20,60',
        /the adaptive softmax needs a vocabulary sorted by decreasing frequency, but on the train split id \d+ occurs \d+ times and id \d+ before it \d+ times/,
      ],
    ] as const) {
      const r = await train(cutoffs);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`^urgate lm train: .*${pattern.source}`));
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    }
  });

  it('refuses contradictory tokenizer flags in one line', async () => {
    for (const [args, pattern] of [
      [
        ['--spm-model', 'x.model', '--vocab-size', '50'],
        /--vocab-size sets the size of a model to train/,
      ],
      [['--spm-model', 'x.model', '--tokenizer', 'word'], /--spm-model is a SentencePiece model/],
      [
        ['--tokenizer', 'sentencepiece'],
        /--tokenizer sentencepiece needs --vocab-size \(to train one\) or --spm-model/,
      ],
      [
        ['--spm-model', join(root, 'absent.model')],
        /SentencePiece model file .*absent\.model does not exist/,
      ],
      [['--unk-below', '0'], /--unk-below shapes the embedded corpus; a --data-dir corpus is read/],
    ] as const) {
      const r = await run(['prepare', '--data-dir', data, '--cache', join(root, 'flags'), ...args]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`^urgate lm prepare: ${pattern.source}`));
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    }
  });

  it('writes the cache at --out; --cache, its old spelling, may not name another directory', async () => {
    const r = await run(['prepare', '--data-dir', data, '--out', join(root, 'a'), '--cache', 'b']);
    expect(r).toEqual({
      out: '',
      err: 'urgate lm prepare: --cache is the old spelling of --out: give one of them\n',
      code: 1,
    });
  });
});

describe('urgate lm prepare: bad text', () => {
  it('a binary file as wiki.train.tokens: one line naming file, line and offset; nothing left', async () => {
    const dir = join(root, 'binary');
    await writeCorpus(dir, 1);
    await copyFile('/bin/ls', join(dir, 'wiki.train.tokens'));
    const nul = readFileSync('/bin/ls').indexOf(0);
    const cache = join(dir, 'cache');
    const r = await run(['prepare', '--data-dir', dir, '--cache', cache]);
    expect(r.code).toBe(1);
    expect(lastLine(r.err)).toMatch(
      new RegExp(
        `^urgate lm prepare: ${dir}/wiki\\.train\\.tokens line 1, byte offset ${nul}: NUL byte`,
      ),
    );
    expect(existsSync(cache) ? readdirSync(cache) : []).toEqual([]);
  });

  it('invalid UTF-8 is refused, or replaced and counted with --lenient-utf8', async () => {
    const dir = join(root, 'latin1');
    await writeCorpus(dir, 1);
    // "café" in Latin-1: a lone 0xE9 in line 3 of the valid split.
    const valid = Buffer.concat([
      Buffer.from(' = Menu = \n \n caf'),
      Buffer.from([0xe9]),
      Buffer.from(' au lait . \n'),
    ]);
    await writeFile(join(dir, 'wiki.valid.tokens'), valid);
    const cache = join(dir, 'cache');
    const strict = await run(['prepare', '--data-dir', dir, '--cache', cache]);
    expect(strict.code).toBe(1);
    expect(lastLine(strict.err)).toMatch(
      /^urgate lm prepare: .*wiki\.valid\.tokens line 3, byte offset 17: invalid UTF-8 \(--lenient-utf8/,
    );
    // The valid split's cache was not half-written; the finished train split's is intact.
    expect(readdirSync(cache).filter((n) => n.startsWith('valid') || n.includes('.tmp-'))).toEqual(
      [],
    );
    const lenient = await run(['prepare', '--data-dir', dir, '--cache', cache, '--lenient-utf8']);
    expect(lenient.code, lenient.err).toBe(0);
    expect(lenient.out).toMatch(
      /valid: \d+ tokens, .* 1 invalid UTF-8 sequences replaced with U\+FFFD/,
    );
  });
});

/** Children of `pid` (from /proc) that have not exited: [pid, command name]. */
function liveChildren(pid: number): [number, string][] {
  const out: [number, string][] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const [state, ppid] = stat.slice(close + 2).split(' ');
      if (Number(ppid) === pid && state !== 'Z')
        out.push([Number(entry), stat.slice(stat.indexOf('(') + 1, close)]);
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

function running(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z');
  } catch {
    return false;
  }
}

async function until(what: string, test: () => boolean, seconds = 60): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `urgate lm prepare` from the sources, in a child process that can be killed. */
function prepareProcess(dataDir: string, cache: string, tokenizer: string[]): ChildProcess {
  return spawn(
    process.execPath,
    [
      ...fromSource,
      urgateBin,
      'lm',
      'prepare',
      '--data-dir',
      dataDir,
      ...tokenizer,
      '--cache',
      cache,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

describe('urgate lm prepare: killed', () => {
  let big: string;
  beforeAll(async () => {
    big = join(root, 'big');
    await writeCorpus(big, 3000, true); // 4.4 MB: spm_train trains 1500 pieces for ~4 s
  });

  /** Starts a prepare and returns once spm_train runs under it. */
  async function startTraining(cache: string) {
    const child = prepareProcess(big, cache, [
      '--tokenizer',
      'sentencepiece',
      '--vocab-size',
      '1500',
    ]);
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    let spm = 0;
    await until('spm_train to start', () => {
      spm = liveChildren(child.pid as number).find(([, name]) => name === 'spm_train')?.[0] ?? 0;
      return spm > 0;
    });
    return { child, exited, spm };
  }

  it('SIGTERM: spm_train is killed and its work folder removed', async () => {
    const cache = join(root, 'term-cache');
    const { child, exited, spm } = await startTraining(cache);
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    await until('spm_train to end', () => !running(spm), 1);
    expect((await readdir(cache)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('SIGKILL: spm_train dies with it; the next prepare sweeps what was left and succeeds', async () => {
    const cache = join(root, 'kill-cache');
    const { child, exited, spm } = await startTraining(cache);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    await until('spm_train to end', () => !running(spm), 1);
    const left = (await readdir(cache)).filter((n) => n.includes('.tmp-'));
    expect(left).toHaveLength(1); // the work folder, with its copy of the text
    const r = await run([
      'prepare',
      '--data-dir',
      data,
      '--cache',
      cache,
      '--vocab-size',
      '100',
      '--tokenizer',
      'sentencepiece',
    ]);
    expect(r.code, r.err).toBe(0);
    expect((await readdir(cache)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('SIGTERM while the token ids are written: the temporary ids file is removed', async () => {
    const cache = join(root, 'ids-cache');
    const child = prepareProcess(big, cache, ['--tokenizer', 'word']);
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    const tmp = () =>
      (existsSync(cache) ? readdirSync(cache) : []).filter((n) => n.includes('.tmp-'));
    await until('the temporary ids file', () => tmp().some((n) => n.startsWith('train.ids.i32')));
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect(tmp()).toEqual([]);
  });
});
