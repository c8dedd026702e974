import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import {
  integer,
  positiveInteger,
  positiveNumber,
  processIO,
  rate,
  reportErrors,
} from './common.js';

// @urgate/train (tfjs, native kernels) and @urgate/wikitext load inside the actions only.

export const LM_DEFAULT_CACHE = 'runs/lm/cache';

export interface LmPrepareOptions {
  dataDir?: string;
  tokenizer: 'word' | 'sentencepiece';
  vocabSize?: number;
  minCount?: number;
  cache: string;
  log?: (line: string) => void;
}

/**
 * Prepares a corpus cache: WikiText from --data-dir, or the embedded State of the Union corpus
 * (written next to the cache). Returns the cache directory and each split's counts.
 */
export async function prepareLmCorpus(options: LmPrepareOptions) {
  const wikitext = await import('@urgate/wikitext');
  const log = options.log ?? (() => {});
  let dataDir = options.dataDir;
  if (dataDir === undefined) {
    dataDir = join(resolve(options.cache), '..', 'sotu');
    const written = await wikitext.writeSotuCorpus(dataDir);
    const s = written.speeches;
    log(
      `embedded corpus (State of the Union addresses) in ${dataDir}: train ${s.train.firstYear}-${s.train.lastYear}, valid ${s.valid.firstYear}-${s.valid.lastYear}, test ${s.test.firstYear}-${s.test.lastYear}`,
    );
  }
  if (options.tokenizer === 'sentencepiece' && options.vocabSize === undefined)
    throw new Error('--tokenizer sentencepiece needs --vocab-size');
  const spec =
    options.tokenizer === 'word'
      ? { kind: 'word' as const, minCount: options.minCount ?? 1 }
      : { kind: 'sentencepiece' as const, vocabSize: options.vocabSize as number };
  const corpus = await wikitext.prepareCorpus({
    dataDir,
    cacheDir: options.cache,
    tokenizer: spec,
    onLog: log,
  });
  return { cacheDir: options.cache, vocabSize: corpus.tokenizer.vocabSize, splits: corpus.splits };
}

interface TrainFlags {
  cache: string;
  mechanism: string;
  core: string;
  hiddenSize: number;
  layers: number;
  embeddingSize?: number;
  bptt: number;
  batchSize: number;
  lr: number;
  clip: number;
  dropout: number;
  layerNorm?: boolean;
  tied: boolean;
  minutes?: number;
  steps?: number;
  evalEvery: number;
  checkpointEvery: number;
  downsize?: number;
  tMax?: number;
  out?: string;
  resume?: boolean;
  seed: number;
}

export function lmTrainInput(flags: TrainFlags) {
  return {
    mechanism: flags.mechanism,
    core: flags.core,
    hiddenSize: flags.hiddenSize,
    numLayers: flags.layers,
    ...(flags.embeddingSize !== undefined ? { embeddingSize: flags.embeddingSize } : {}),
    bptt: flags.bptt,
    batchSize: flags.batchSize,
    lr: flags.lr,
    clip: flags.clip,
    dropout: flags.dropout,
    layerNorm: flags.layerNorm === true,
    tiedEmbeddings: flags.tied,
    steps: flags.steps ?? null,
    minutes: flags.minutes ?? (flags.steps === undefined ? 5 : null),
    evalEvery: flags.evalEvery,
    checkpointEvery: flags.checkpointEvery,
    ...(flags.downsize !== undefined ? { downsize: flags.downsize } : {}),
    ...(flags.tMax !== undefined ? { tMax: flags.tMax } : {}),
    seed: flags.seed,
  };
}

const fmt = (x: number) => x.toFixed(2);

function prepareCommand(): Command {
  return new Command('prepare')
    .description(
      'tokenize a corpus into a cache for `lm train`: WikiText-103 from --data-dir, or by default the embedded State of the Union corpus',
    )
    .option(
      '--data-dir <dir>',
      'WikiText directory (wiki.*.tokens, wiki.*.raw or Hugging Face parquet shards)',
    )
    .addOption(
      new Option('--tokenizer <kind>', 'word level or a SentencePiece model trained on train')
        .choices(['word', 'sentencepiece'])
        .default('word'),
    )
    .option('--vocab-size <n>', 'SentencePiece vocabulary size', positiveInteger)
    .option(
      '--min-count <n>',
      'word level: words seen fewer times become <unk> (default 1)',
      positiveInteger,
    )
    .option('--cache <dir>', 'cache directory', LM_DEFAULT_CACHE)
    .action(
      reportErrors('lm prepare', processIO, async (flags: LmPrepareOptions) => {
        const r = await prepareLmCorpus({ ...flags, log: (l) => process.stderr.write(`${l}\n`) });
        process.stdout.write(`cache ${r.cacheDir}: vocabulary ${r.vocabSize}\n`);
        for (const [split, m] of Object.entries(r.splits))
          process.stdout.write(
            `  ${split}: ${m?.counts.tokens} tokens, ${m?.counts.words} words, ${m?.counts.articles} articles\n`,
          );
      }),
    );
}

export function addLmTrainOptions(cmd: Command): Command {
  return cmd
    .option('--cache <dir>', 'prepared corpus (`urgate lm prepare`)', LM_DEFAULT_CACHE)
    .option('--mechanism <m>', 'gate mechanism: - C- O- OM- U- R- UR- UM- OR-', 'UR-')
    .option('--core <core>', 'lstm | gru', 'lstm')
    .option('--hidden-size <n>', 'hidden units per layer', positiveInteger, 256)
    .option('--layers <n>', 'stacked recurrent layers', positiveInteger, 1)
    .option(
      '--embedding-size <n>',
      'embedding size (default: hidden size; must equal it when tied)',
      positiveInteger,
    )
    .option('--bptt <n>', 'truncated-BPTT window length', positiveInteger, 64)
    .option('--batch-size <n>', 'parallel streams', positiveInteger, 32)
    .option('--lr <x>', 'Adam learning rate (paper 1e-3)', positiveNumber, 1e-3)
    .option('--clip <x>', 'global gradient-norm clip (paper 0.1)', positiveNumber, 0.1)
    .option('--dropout <x>', 'dropout on embeddings and the last layer output', rate, 0.1)
    .option('--layer-norm', 'layer norm on the last layer output')
    .option('--no-tied', 'separate output matrix instead of the tied embedding')
    .option(
      '--minutes <x>',
      'training-time budget in minutes (default 5 when --steps is not given)',
      positiveNumber,
    )
    .option('--steps <n>', 'optimizer steps budget', positiveInteger)
    .option('--eval-every <n>', 'validation every n steps', positiveInteger, 500)
    .option('--checkpoint-every <n>', 'training state every n steps', positiveInteger, 200)
    .option(
      '--downsize <C>',
      'OM-/UM-: master gates hidden/C wide (default 16; paper LM 32)',
      positiveInteger,
    )
    .option('--t-max <T>', 'C-: chrono horizon Tmax (default the hidden size)', positiveNumber)
    .option('--seed <n>', 'random seed', integer, 1);
}

function trainCommand(): Command {
  return addLmTrainOptions(
    new Command('train').description(
      'train a word/subword language model with truncated BPTT (state reset at article starts); writes <out>/model.safetensors, checkpoint.safetensors, metrics.jsonl, result.json',
    ),
  )
    .option('--out <dir>', 'run directory (default runs/lm/<mechanism><core>)')
    .option('--resume', 'continue from <out>/checkpoint.safetensors')
    .action(
      reportErrors('lm train', processIO, async (flags: TrainFlags) => {
        const train = await import('@urgate/train');
        const config = train.resolveLmConfig(lmTrainInput(flags));
        const out =
          flags.out ?? join('runs', 'lm', `${config.mechanism.replace('-', '')}${config.core}`);
        const r = await train.trainLm(config, {
          cacheDir: flags.cache,
          outDir: out,
          resume: flags.resume,
        });
        process.stdout.write(`${describeRun(r)}\n`);
        if (r.outcome === 'diverged') process.exitCode = 2;
      }),
    );
}

export function describeRun(r: import('@urgate/train').LmRunResult): string {
  if (r.outcome === 'diverged')
    return `diverged at step ${r.divergence?.step}: ${r.divergence?.reason}`;
  const lines = [
    `${r.config.mechanism}${r.config.core.toUpperCase()}: ${r.steps} steps (${r.epochs.toFixed(2)} epochs) in ${r.trainSeconds.toFixed(0)} s, ${r.tokensPerSecond.toFixed(0)} tokens/s`,
  ];
  if (r.valid)
    lines.push(
      `valid: word ppl ${fmt(r.valid.wordPerplexity)}, token ppl ${fmt(r.valid.tokenPerplexity)}, ${r.valid.bitsPerByte.toFixed(3)} bits/byte`,
    );
  if (r.test)
    lines.push(
      `test:  word ppl ${fmt(r.test.wordPerplexity)}, token ppl ${fmt(r.test.tokenPerplexity)}, ${r.test.bitsPerByte.toFixed(3)} bits/byte`,
    );
  return lines.join('\n');
}

function evalCommand(): Command {
  return new Command('eval')
    .description('word-level perplexity of a checkpoint on a split, read as one stream')
    .argument('<checkpoint>', 'model.safetensors or checkpoint.safetensors of an lm run')
    .addOption(new Option('--split <split>', 'split').choices(['valid', 'test']).default('valid'))
    .option('--cache <dir>', 'prepared corpus (default: the one the run trained on)')
    .option('--json', 'print the report as JSON')
    .action(
      reportErrors(
        'lm eval',
        processIO,
        async (
          checkpoint: string,
          flags: { split: 'valid' | 'test'; cache?: string; json?: boolean },
        ) => {
          const { evaluateLmCheckpoint } = await import('@urgate/train');
          const e = await evaluateLmCheckpoint(checkpoint, flags.split, flags.cache);
          process.stdout.write(
            flags.json
              ? `${JSON.stringify({ split: flags.split, ...e })}\n`
              : `${flags.split}: word ppl ${fmt(e.wordPerplexity)} (${e.words} words), token ppl ${fmt(e.tokenPerplexity)} (${e.tokens} tokens), ${e.bitsPerByte.toFixed(3)} bits/byte\n`,
          );
        },
      ),
    );
}

export function lmCommand(): Command {
  return new Command('lm')
    .description('language models on WikiText-103 (or the embedded corpus): prepare, train, eval')
    .addCommand(prepareCommand())
    .addCommand(trainCommand())
    .addCommand(evalCommand());
}
