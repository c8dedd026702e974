import { join } from 'node:path';
import { Command } from 'commander';
import { describeLmRun } from '../lm-report.js';
import { port, positiveInteger, positiveNumber, processIO, reportErrors } from './common.js';

// tfjs, the kernels, onnxruntime and the server load inside the action only.

interface DemoFlags {
  minutes: number;
  hiddenSize: number;
  out: string;
  serve: boolean;
  port: number;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * SentencePiece pieces of the demo's tokenizer: of 2000/4000/8000 pieces at the compute of 3
 * quiet minutes, 4000 gave the fewest bits per byte (README, "The demo's model"); a piece model
 * spells every word, so the corpus keeps them all and no <unk> is learnt or sampled.
 */
const DEMO_VOCAB = 4000;

/**
 * The root `npm start`: embedded corpus -> small UR-LSTM language model -> perplexity ->
 * ONNX export -> the same perplexity from onnxruntime -> an HTTP server on localhost.
 */
async function runDemo(flags: DemoFlags): Promise<void> {
  const train = await import('@urgate/train/lm');
  const cacheDir = join(flags.out, 'cache');
  say(
    `1/5 preparing the embedded corpus (every word kept; a ${DEMO_VOCAB}-piece SentencePiece model trained on it) in ${cacheDir}`,
  );
  const { prepareCorpusOrSotu, scoringStream } = await import('@urgate/wikitext');
  const corpus = await prepareCorpusOrSotu({
    cacheDir,
    tokenizer: { kind: 'sentencepiece', vocabSize: DEMO_VOCAB },
    unkBelow: 0,
    onLog: say,
  });
  say(
    `    vocabulary ${corpus.tokenizer.vocabSize}, ${corpus.splits.train?.counts.tokens} training tokens`,
  );

  say(
    `2/5 training a UR-LSTM language model (hidden ${flags.hiddenSize}) for ${flags.minutes} min`,
  );
  const config = train.resolveLmConfig({
    mechanism: 'UR-',
    hiddenSize: flags.hiddenSize,
    minutes: flags.minutes,
    // Of hidden 128/256 x batch 32/64 x lr 3e-3/5e-3 in 3-minute runs, this gave the best
    // validation perplexity (packages/train/README.md); with the SentencePiece model, 5e-3 beat
    // 1e-2 and 3e-3, and a constant rate beat a cosine decay to lr/10 at the deadline, with or
    // without warmup (README, "The demo's model").
    bptt: 64,
    batchSize: 64,
    lr: 5e-3,
    evalEvery: 1_000_000,
    checkpointEvery: 500,
  });
  const runDir = join(flags.out, 'urlstm');
  const result = await train.trainLm(config, { cacheDir, outDir: runDir });
  say(describeLmRun(result).replace(/^/gm, '    '));
  if (result.outcome === 'diverged' || !result.test) throw new Error('training diverged');

  say('3/5 exporting to ONNX');
  const { exportCheckpoint } = await import('@urgate/onnx');
  const files = await exportCheckpoint(
    join(runDir, train.LM_FILES.model),
    join(flags.out, 'onnx'),
    {
      name: 'urlstm',
    },
  );
  say(`    ${files.step}\n    ${files.sequence}\n    ${files.gates}`);

  say(
    '4/5 test perplexity from onnxruntime (the whole split as one stream, state reset at articles)',
  );
  const { openModel, scoreTokens } = await import('@urgate/onnx/runtime');
  const tokenizer = await train.cacheTokenizer(cacheDir);
  const test = await train.loadLmSplit(cacheDir, 'test', tokenizer);
  const { tokens, resets } = scoringStream(test, tokenizer.eosId);
  const session = await openModel(files.sequence);
  const onnx = await scoreTokens(session, tokens, { resets, words: test.manifest.counts.words });
  say(
    `    word ppl: onnxruntime ${onnx.wordPerplexity?.toFixed(3)}, trainer ${result.test.wordPerplexity.toFixed(3)}`,
  );

  if (!flags.serve || files.step === null) {
    say(`5/5 serve it with: urgate serve --onnx ${files.step}`);
    return;
  }
  const { startServer } = await import('@urgate/serve');
  const server = await startServer({ modelPath: files.step, port: flags.port });
  say(`5/5 serving on ${server.url} (Ctrl-C to stop). Try:`);
  say(
    `    curl -s ${server.url}/v1/completions -H 'content-type: application/json' -d '{"model": "${server.modelId}", "prompt": "the congress", "max_tokens": 30, "temperature": 0.8}'`,
  );
  say(
    `    curl -s ${server.url}/v1/completions -H 'content-type: application/json' -d '{"model": "${server.modelId}", "prompt": "We the people.", "max_tokens": 0, "echo": true, "logprobs": 0}'`,
  );
  say(
    `    curl -s ${server.url}/v1/chat/completions -H 'content-type: application/json' -d '{"model": "${server.modelId}", "messages": [{"role": "user", "content": "What is the state of the union?"}], "max_tokens": 40, "temperature": 0.8}'`,
  );
  say(`    open the page: ${server.url}/ (generate, and the forget gates over a text)`);
  await new Promise<void>((done) => {
    process.once('SIGINT', () => {
      void server.close().then(done);
    });
  });
}

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'end to end on the embedded State of the Union corpus: prepare (SentencePiece), train a small UR-LSTM LM, perplexity per word, ONNX export, onnxruntime perplexity, serve on localhost',
    )
    .option('--minutes <n>', 'training time', positiveNumber, 3)
    .option('--hidden-size <n>', 'hidden units (= embedding size, tied)', positiveInteger, 128)
    .option('--out <dir>', 'where everything goes', 'runs/demo')
    .option('--no-serve', 'stop after the ONNX perplexity')
    .option('--port <n>', 'HTTP port', port, 8080)
    .action(reportErrors('demo', processIO, runDemo));
}
