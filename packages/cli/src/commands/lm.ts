import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import {
  type CliIO,
  cutoffList,
  defaultRunDir,
  integer,
  nonNegativeInteger,
  positiveInteger,
  positiveNumber,
  processIO,
  rate,
  reportErrors,
} from './common.js';

// @urgate/train/lm (the language model on the native kernels, without tfjs) and @urgate/wikitext
// load inside the actions only.

export const LM_DEFAULT_CACHE = 'runs/lm/cache';

export interface LmPrepareOptions {
  dataDir?: string;
  /** Default: word, or sentencepiece when spmModel is given. */
  tokenizer?: 'word' | 'sentencepiece';
  /** Train a SentencePiece model of this size on the train split. */
  vocabSize?: number;
  /** Use this SentencePiece model (copied into the cache). */
  spmModel?: string;
  minCount?: number;
  /** Embedded corpus: words seen fewer times in its train split are `<unk>` in its text (default 3). */
  unkBelow?: number;
  /** Replace invalid UTF-8 with U+FFFD (counted per split) instead of refusing the file. */
  lenientUtf8?: boolean;
  cache: string;
  log?: (line: string) => void;
}

function tokenizerSpec(options: LmPrepareOptions) {
  const kind = options.tokenizer ?? (options.spmModel !== undefined ? 'sentencepiece' : 'word');
  if (kind === 'word') {
    if (options.spmModel !== undefined)
      throw new Error('--spm-model is a SentencePiece model: it needs --tokenizer sentencepiece');
    return { kind, minCount: options.minCount ?? 1 };
  }
  if (options.spmModel !== undefined) {
    if (options.vocabSize !== undefined)
      throw new Error(
        '--vocab-size sets the size of a model to train; --spm-model gives a trained one: pass one of them',
      );
    return { kind, model: options.spmModel };
  }
  if (options.vocabSize === undefined)
    throw new Error('--tokenizer sentencepiece needs --vocab-size (to train one) or --spm-model');
  return { kind, vocabSize: options.vocabSize };
}

/**
 * Prepares a corpus cache: WikiText from --data-dir, or the embedded State of the Union corpus
 * (written next to the cache). Returns the cache directory and each split's counts.
 */
export async function prepareLmCorpus(options: LmPrepareOptions) {
  const spec = tokenizerSpec(options);
  const wikitext = await import('@urgate/wikitext');
  const log = options.log ?? (() => {});
  let dataDir = options.dataDir;
  if (dataDir !== undefined && options.unkBelow !== undefined)
    throw new Error(
      '--unk-below shapes the embedded corpus; a --data-dir corpus is read as it is: pass one of them',
    );
  if (dataDir === undefined) {
    dataDir = join(resolve(options.cache), '..', 'sotu');
    const written = await wikitext.writeSotuCorpus(dataDir, { unkBelow: options.unkBelow });
    const s = written.speeches;
    log(
      `embedded corpus (State of the Union addresses) in ${dataDir}: train ${s.train.firstYear}-${s.train.lastYear}, valid ${s.valid.firstYear}-${s.valid.lastYear}, test ${s.test.firstYear}-${s.test.lastYear}`,
    );
  }
  const corpus = await wikitext.prepareCorpus({
    dataDir,
    cacheDir: options.cache,
    tokenizer: spec,
    lenientUtf8: options.lenientUtf8,
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
  adaptiveSoftmax?: number[];
  tailDiv: number;
  minutes?: number;
  steps?: number;
  evalEvery: number;
  checkpointEvery: number;
  downsize?: number;
  tMax?: number;
  out?: string;
  resume?: boolean;
  seed: number;
  engine: 'native' | 'reference';
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
    adaptiveSoftmax: flags.adaptiveSoftmax ?? null,
    tailDiv: flags.tailDiv,
    steps: flags.steps ?? null,
    minutes: flags.minutes ?? (flags.steps === undefined ? 5 : null),
    evalEvery: flags.evalEvery,
    checkpointEvery: flags.checkpointEvery,
    ...(flags.downsize !== undefined ? { downsize: flags.downsize } : {}),
    ...(flags.tMax !== undefined ? { tMax: flags.tMax } : {}),
    seed: flags.seed,
    engine: flags.engine,
  };
}

const fmt = (x: number) => x.toFixed(2);

function prepareCommand(io: CliIO): Command {
  return new Command('prepare')
    .description(
      'tokenize a corpus into a cache for `lm train`: WikiText-103 from --data-dir, or by default the embedded State of the Union corpus',
    )
    .option(
      '--data-dir <dir>',
      'WikiText directory (wiki.*.tokens, wiki.*.raw or Hugging Face parquet shards)',
    )
    .addOption(
      new Option(
        '--tokenizer <kind>',
        'word level, or SentencePiece (a model trained on train, or --spm-model) (default: word, sentencepiece with --spm-model)',
      ).choices(['word', 'sentencepiece']),
    )
    .option('--vocab-size <n>', 'train a SentencePiece model of this size', positiveInteger)
    .option('--spm-model <file>', 'use this SentencePiece .model (copied into the cache)')
    .option(
      '--min-count <n>',
      'word level: words seen fewer times become <unk> (default 1)',
      positiveInteger,
    )
    .option(
      '--unk-below <n>',
      'embedded corpus: words seen fewer than n times in its train split are <unk> in its text (default 3, as WikiText-103; 0 keeps every word, as -raw)',
      nonNegativeInteger,
    )
    .option(
      '--lenient-utf8',
      'replace invalid UTF-8 with U+FFFD (counted per split) instead of refusing the file',
    )
    .option('--cache <dir>', 'cache directory', LM_DEFAULT_CACHE)
    .action(
      reportErrors('lm prepare', io, async (flags: LmPrepareOptions) => {
        const r = await prepareLmCorpus({ ...flags, log: (l) => io.err(`${l}\n`) });
        io.out(`cache ${r.cacheDir}: vocabulary ${r.vocabSize}\n`);
        for (const [split, m] of Object.entries(r.splits)) {
          const replaced = m?.replacedUtf8
            ? `, ${m.replacedUtf8} invalid UTF-8 sequences replaced with U+FFFD`
            : '';
          io.out(
            `  ${split}: ${m?.counts.tokens} tokens, ${m?.counts.words} words, ${m?.counts.articles} articles${replaced}\n`,
          );
        }
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
    .option(
      '--batch-size <n>',
      'parallel streams (the global batch: under mpirun/srun each rank trains its share)',
      positiveInteger,
      32,
    )
    .option('--lr <x>', 'Adam learning rate (paper 1e-3)', positiveNumber, 1e-3)
    .option('--clip <x>', 'global gradient-norm clip (paper 0.1)', positiveNumber, 0.1)
    .option('--dropout <x>', 'dropout on embeddings and the last layer output', rate, 0.1)
    .option('--layer-norm', 'layer norm on the last layer output')
    .option('--no-tied', 'separate output matrix instead of the tied embedding')
    .option(
      '--adaptive-softmax <cutoffs>',
      'adaptive softmax with these increasing cutoffs over the frequency-sorted vocabulary, e.g. 20000,40000,200000 for WikiText-103 (tied: its shortlist is the embedding rows [0, first cutoff))',
      cutoffList,
    )
    .option(
      '--tail-div <x>',
      'adaptive softmax: cluster i projects to hidden / x^(i+1) units',
      positiveNumber,
      4,
    )
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
    .option('--seed <n>', 'random seed', integer, 1)
    .addOption(
      new Option(
        '--engine <engine>',
        'native: the C++ model object (no tfjs loaded); reference: the pure-tfjs cells with autodiff (slow; for checking)',
      )
        .choices(['native', 'reference'])
        .default('native'),
    );
}

/** `urgate train lm` (the training shape of every model), also `urgate lm train` (the old spelling). */
export function trainCommand(io: CliIO): Command {
  return addLmTrainOptions(
    new Command('train').description(
      'train a word/subword language model with truncated BPTT (state reset at article starts); writes <out>/model.safetensors, checkpoint.safetensors, metrics.jsonl, result.json; started by mpirun/srun it trains data parallel (README: "Training on several machines")',
    ),
  )
    .option('--out <dir>', 'run directory (default runs/lm-<mechanism><core>-seed<seed>)')
    .option('--resume', 'continue from <out>/checkpoint.safetensors')
    .action(
      reportErrors('lm train', io, async (flags: TrainFlags) => {
        const train = await import('@urgate/train/lm');
        const config = train.resolveLmConfig(lmTrainInput(flags));
        const out = flags.out ?? defaultRunDir('lm', config);
        const r = await train.trainLm(config, {
          cacheDir: flags.cache,
          outDir: out,
          resume: flags.resume,
        });
        // Under an MPI launcher every rank ran the same job: rank 0 alone reports it.
        if ((await import('@urgate/mpi')).world().rank === 0) io.out(`${describeRun(r)}\n`);
        if (r.outcome === 'diverged') io.fail(2);
      }),
    );
}

export function describeRun(r: import('@urgate/train/lm').LmRunResult): string {
  if (r.outcome === 'diverged')
    return `diverged at step ${r.divergence?.step}: ${r.divergence?.reason}`;
  const lines = [
    `${r.config.mechanism}${r.config.core.toUpperCase()} (${r.config.engine} engine): ${r.steps} steps (${r.epochs.toFixed(2)} epochs) in ${r.trainSeconds.toFixed(0)} s, ${r.tokensPerSecond.toFixed(0)} tokens/s`,
  ];
  if (r.valid)
    lines.push(
      `valid: word ppl ${fmt(r.valid.wordPerplexity)}, token ppl ${fmt(r.valid.tokenPerplexity)}, ${r.valid.bitsPerByte.toFixed(3)} bits/byte`,
    );
  if (r.test)
    lines.push(
      `test:  word ppl ${fmt(r.test.wordPerplexity)}, token ppl ${fmt(r.test.tokenPerplexity)}, ${r.test.bitsPerByte.toFixed(3)} bits/byte`,
    );
  if (Number.isFinite(r.scoringTokensPerSecond))
    lines.push(`evaluation scored ${r.scoringTokensPerSecond.toFixed(0)} tokens/s`);
  return lines.join('\n');
}

function evalCommand(io: CliIO): Command {
  return new Command('eval')
    .description('word-level perplexity of a checkpoint on a split, read as one stream')
    .argument('<checkpoint>', 'model.safetensors or checkpoint.safetensors of an lm run')
    .addOption(new Option('--split <split>', 'split').choices(['valid', 'test']).default('valid'))
    .option('--cache <dir>', 'prepared corpus (default: the one the run trained on)')
    .option(
      '--batch-size <n>',
      "articles scored at once (default 32); the state is zeroed at every article, so any number gives the one stream's perplexity",
      positiveInteger,
    )
    .option('--json', 'print the report as JSON')
    .action(
      reportErrors(
        'lm eval',
        io,
        async (
          checkpoint: string,
          flags: { split: 'valid' | 'test'; cache?: string; batchSize?: number; json?: boolean },
        ) => {
          const { evaluateLmCheckpoint } = await import('@urgate/train/lm');
          const { report: e, tokensPerSecond } = await evaluateLmCheckpoint(
            checkpoint,
            flags.split,
            { cacheDir: flags.cache, rows: flags.batchSize },
          );
          // The JSON is the reproducible report; the scoring speed (a timing) is only in the text.
          io.out(
            flags.json
              ? `${JSON.stringify({ split: flags.split, ...e })}\n`
              : `${flags.split}: word ppl ${fmt(e.wordPerplexity)} (${e.words} words), token ppl ${fmt(e.tokenPerplexity)} (${e.tokens} tokens), ${e.bitsPerByte.toFixed(3)} bits/byte; scored at ${tokensPerSecond.toFixed(0)} tokens/s\n`,
          );
        },
      ),
    );
}

export function lmCommand(io: CliIO = processIO): Command {
  return new Command('lm')
    .description('language models on WikiText-103 (or the embedded corpus): prepare, train, eval')
    .addCommand(prepareCommand(io))
    .addCommand(
      trainCommand(io).description(
        'the old spelling of `urgate train lm`, kept for a release (same options)',
      ),
    )
    .addCommand(evalCommand(io));
}
