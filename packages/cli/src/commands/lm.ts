import { Command, Option } from 'commander';
import { describeLmRun } from '../lm-report.js';
import {
  type CliIO,
  cutoffList,
  defaultRunDir,
  downsizeOption,
  integer,
  nonNegativeInteger,
  positiveInteger,
  positiveNumber,
  processIO,
  rate,
  reportErrors,
  tMaxOption,
} from './common.js';

// @urgate/train/lm (the language model on the native kernels, without tfjs) and @urgate/wikitext
// load inside the actions only.

const LM_DEFAULT_CACHE = 'runs/lm/cache';

interface LmPrepareFlags {
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
  /** The cache directory to write. */
  out?: string;
  /** The old spelling of --out, kept for a release. */
  cache?: string;
}

function tokenizerSpec(options: LmPrepareFlags) {
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

function lmTrainInput(flags: TrainFlags) {
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
    .option('--out <dir>', `cache directory to write (default ${LM_DEFAULT_CACHE})`)
    .option('--cache <dir>', 'the old spelling of --out, kept for a release')
    .action(
      reportErrors('lm prepare', io, async (flags: LmPrepareFlags) => {
        if (flags.out !== undefined && flags.cache !== undefined && flags.out !== flags.cache)
          throw new Error('--cache is the old spelling of --out: give one of them');
        const cacheDir = flags.out ?? flags.cache ?? LM_DEFAULT_CACHE;
        const { prepareCorpusOrSotu } = await import('@urgate/wikitext');
        const corpus = await prepareCorpusOrSotu({
          dataDir: flags.dataDir,
          cacheDir,
          tokenizer: tokenizerSpec(flags),
          unkBelow: flags.unkBelow,
          lenientUtf8: flags.lenientUtf8,
          onLog: (l) => io.err(`${l}\n`),
        });
        io.out(`cache ${cacheDir}: vocabulary ${corpus.tokenizer.vocabSize}\n`);
        for (const [split, m] of Object.entries(corpus.splits)) {
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

function addLmTrainOptions(cmd: Command): Command {
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
    .addOption(downsizeOption())
    .addOption(tMaxOption())
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
        if ((await import('@urgate/mpi')).world().rank === 0) io.out(`${describeLmRun(r)}\n`);
        if (r.outcome === 'diverged') io.fail(2);
      }),
    );
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
