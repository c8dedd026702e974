import type { ScoreState } from '@urgate/onnx/runtime';
import type { SerializedTokenizer } from '@urgate/wikitext';
import { Argument, Command, Option } from 'commander';
import { formatL2eEvalReport, runL2eEval } from '../l2e-eval.js';
import { type CliIO, positiveInteger, processIO, reportErrors } from './common.js';

const SPLIT_CHOICES = ['train', 'valid', 'test'] as const;
type Split = (typeof SPLIT_CHOICES)[number];

export interface EvalCommandOptions {
  onnx: string;
  /** Prepared-cache directory (written by training's prepare step, or by --data-dir here); language models only. */
  cache?: string;
  /** WikiText directory: prepare the split's cache from it with the model's tokenizer when missing. */
  dataDir?: string;
  provider: 'cpu' | 'cuda';
  batchSize: number;
  json?: boolean;
  onProgress?: (scored: number, total: number) => void;
}

export interface EvalReport {
  split: Split;
  onnx: string;
  tokens: number;
  words: number;
  bytes: number;
  totalNll: number;
  tokenPerplexity: number;
  wordPerplexity: number;
  bitsPerByte: number;
  batchSize: number;
  seconds: number;
}

/**
 * Perplexity of an exported sequence graph on a prepared WikiText split, scored as the trainer's
 * evaluation does: the split preceded by one `<eos>`, the state zeroed at each article start.
 */
export async function runEval(split: Split, options: EvalCommandOptions): Promise<EvalReport> {
  const [{ openModel, scoreChunkLength, scoreWindow, zeroScoreState }, wikitext] =
    await Promise.all([import('@urgate/onnx/runtime'), import('@urgate/wikitext')]);
  const model = await openModel(options.onnx, { provider: options.provider });
  try {
    if (options.cache === undefined)
      throw new Error("--cache: a language model's sequence graph is scored on a prepared cache");
    if (model.metadata.graph !== 'lm-sequence')
      throw new Error(
        `${options.onnx} is a ${model.metadata.graph} graph; eval needs a language model's sequence graph (<name>.sequence.onnx)`,
      );
    const saved = model.metadata.tokenizer as { kind?: string } | null;
    if (saved?.kind !== 'word' && saved?.kind !== 'sentencepiece')
      throw new Error(
        `${options.onnx} carries no serialized tokenizer in its metadata, so it cannot be checked against the cache's tokenizer`,
      );
    const tokenizer = await wikitext.restoreTokenizer(saved as SerializedTokenizer);
    if (options.dataDir !== undefined)
      await wikitext.prepareSplit({
        dataDir: options.dataDir,
        split,
        tokenizer,
        cacheDir: options.cache,
        onTokenizerMismatch: 'error',
      });
    const prepared = await wikitext.loadPreparedSplit(options.cache, split);
    if (!wikitext.sameTokenizer(prepared.manifest.tokenizer, tokenizer.identity))
      throw new Error(
        `the ${split} cache in ${options.cache} was made by a ${wikitext.describeTokenizer(prepared.manifest.tokenizer)}, but ${options.onnx} was trained with a ${wikitext.describeTokenizer(tokenizer.identity)}`,
      );
    const vocabSize = model.metadata.model.vocabSize;
    if (vocabSize !== tokenizer.vocabSize)
      throw new Error(
        `${options.onnx} has ${vocabSize} outputs but its tokenizer has ${tokenizer.vocabSize} ids`,
      );
    const { manifest } = prepared;
    // The state is zeroed at every article, so the split's articles are scored side by side
    // (evalBatches deals them whole to B rows) with the one stream's per-token results.
    const nll = new wikitext.NllAccumulator();
    const total = manifest.counts.tokens;
    let state: ScoreState | null = null;
    const started = performance.now();
    for (const batch of wikitext.evalBatches(prepared.ids, prepared.articleStarts, {
      bptt: scoreChunkLength(model, options.batchSize),
      eosId: tokenizer.eosId,
      batchSize: options.batchSize,
    })) {
      state ??= zeroScoreState(model, batch.batch);
      const out = await scoreWindow(model, batch, state);
      state = out.state;
      nll.add(out.nll, batch.mask);
      options.onProgress?.(nll.count, total);
    }
    const seconds = (performance.now() - started) / 1000;
    const report = wikitext.perplexityReport(nll.total, manifest.counts);
    return {
      split,
      onnx: options.onnx,
      tokens: manifest.counts.tokens,
      words: manifest.counts.words,
      bytes: manifest.counts.bytes,
      totalNll: report.totalNll,
      tokenPerplexity: report.tokenPerplexity,
      wordPerplexity: report.wordPerplexity,
      bitsPerByte: report.bitsPerByte,
      batchSize: options.batchSize,
      seconds,
    };
  } finally {
    await model.close();
  }
}

/** The model when `options.onnx` is an l2e encoder-decoder, else null (closed). */
async function openL2eGraph(options: EvalCommandOptions) {
  const { openModel } = await import('@urgate/onnx/runtime');
  const model = await openModel(options.onnx, { provider: options.provider });
  if (model.metadata.graph === 'l2e') return model;
  await model.close();
  return null;
}

function formatEvalReport(r: EvalReport): string {
  return [
    `${r.split}: ${r.tokens} tokens, ${r.words} words, ${r.bytes} bytes (${r.onnx}, batch size ${r.batchSize})`,
    `  token perplexity  ${r.tokenPerplexity.toFixed(3)}`,
    `  word perplexity   ${r.wordPerplexity.toFixed(3)}`,
    `  bits per byte     ${r.bitsPerByte.toFixed(4)}`,
    `  ${r.seconds.toFixed(1)} s, ${Math.round(r.tokens / r.seconds)} tokens/s`,
  ].join('\n');
}

export function evalCommand(io: CliIO = processIO): Command {
  return new Command('eval')
    .description(
      'Token- and word-level perplexity and bits per byte of an exported language model (sequence graph, onnxruntime) on a prepared WikiText split; per-character and per-program accuracy of an exported l2e encoder-decoder on held-out programs',
    )
    .addArgument(new Argument('<split>', 'which split').choices(SPLIT_CHOICES))
    .requiredOption('--onnx <file>', 'the exported sequence graph (<name>.sequence.onnx)')
    .option('--cache <dir>', 'language models: prepared token cache directory of the split')
    .option(
      '--data-dir <dir>',
      "WikiText directory: build the cache from it with the model's tokenizer if it is missing or stale",
    )
    .addOption(
      new Option('--provider <p>', 'onnxruntime execution provider')
        .choices(['cpu', 'cuda'])
        .default('cpu'),
    )
    .option(
      '--batch-size <n>',
      "language models: articles scored side by side; the state is zeroed at every article, so any B gives the one stream's number",
      positiveInteger,
      32,
    )
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      "\nThe tokenizer in the ONNX metadata must be the one that made the cache. An l2e model needs no cache: its\nheld-out programs are generated from the settings in its metadata (test: the trainer's evaluation programs).\nExamples:\n  urgate eval test --onnx exported/urlstm.sequence.onnx --cache .cache/wikitext-103-word\n  urgate eval test --onnx exported/l2e.sequence.onnx",
    )
    .action(
      reportErrors('eval', io, async (split: Split, options: EvalCommandOptions) => {
        const l2e = await openL2eGraph(options);
        if (l2e) {
          try {
            const report = await runL2eEval(split, l2e);
            io.out(
              `${options.json ? JSON.stringify(report, null, 2) : formatL2eEvalReport(report)}\n`,
            );
          } finally {
            await l2e.close();
          }
          return;
        }
        // A long split (WikiText-103 train) takes minutes: show progress on a terminal.
        let shown = 0;
        const onProgress = process.stderr.isTTY
          ? (scored: number, total: number) => {
              if (performance.now() - shown < 1000 && scored < total) return;
              shown = performance.now();
              io.err(
                `\rscoring ${split}: ${((100 * scored) / total).toFixed(1)}% of ${total} tokens`,
              );
              if (scored === total) io.err('\n');
            }
          : undefined;
        const report = await runEval(split, { ...options, onProgress });
        io.out(`${options.json ? JSON.stringify(report, null, 2) : formatEvalReport(report)}\n`);
      }),
    );
}
