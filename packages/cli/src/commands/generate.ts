import { Command } from 'commander';
import {
  type CliIO,
  nonNegativeInteger,
  nonNegativeNumber,
  probability,
  processIO,
  reportErrors,
  tokenList,
} from './common.js';

export interface GenerateCommandOptions {
  onnx: string;
  prompt?: string;
  tokens?: number[];
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  stopAtEos?: boolean;
  json?: boolean;
}

export interface GenerateReport {
  /** The continuation as text, or null when the model carries no tokenizer. */
  text: string | null;
  tokens: number[];
  promptTokens: number[];
}

/** Samples a continuation with the step graph in this process (onnxruntime; no tfjs). */
export async function runGenerate(options: GenerateCommandOptions): Promise<GenerateReport> {
  if ((options.prompt === undefined) === (options.tokens === undefined))
    throw new Error('give exactly one of --prompt TEXT or --tokens IDS');
  const [{ generate, openModel }, serve] = await Promise.all([
    import('@urgate/onnx/runtime'),
    import('@urgate/serve'),
  ]);
  const model = await openModel(options.onnx);
  try {
    if (model.metadata.graph !== 'lm-step')
      throw new Error(
        `${options.onnx} is a ${model.metadata.graph} graph; generate needs a language model's step graph (<name>.step.onnx)`,
      );
    const { tokenizer, reason } = await serve.modelTokenizer(model.metadata.tokenizer);
    const vocabSize = model.metadata.model.vocabSize as number;
    let prompt: number[];
    if (options.tokens) {
      serve.checkTokens(options.tokens, vocabSize, '--tokens');
      prompt = options.tokens;
    } else {
      if (!tokenizer) throw new Error(`--prompt cannot be encoded: ${reason}; use --tokens`);
      prompt = serve.encodePrompt(tokenizer, options.prompt as string);
    }
    const [tokens] = await generate(model, [prompt], {
      maxTokens: options.maxTokens,
      temperature: options.temperature,
      topK: options.topK,
      topP: options.topP,
      seed: options.seed,
      stopToken: options.stopAtEos && tokenizer ? tokenizer.eosId : undefined,
      // As the server samples and renders: never `<unk>`, text in the corpus' own spelling.
      logitBias: serve.readLogitBias(null, vocabSize, tokenizer?.unknownIds ?? []),
    });
    return {
      text: tokenizer ? serve.detokenize(tokenizer, tokens, prompt) : null,
      tokens,
      promptTokens: prompt,
    };
  } finally {
    await model.close();
  }
}

export function generateCommand(io: CliIO = processIO): Command {
  return new Command('generate')
    .description(
      'Sample a continuation of a prompt from an exported language model (step graph, onnxruntime)',
    )
    .requiredOption('--onnx <file>', 'the exported step graph (<name>.step.onnx)')
    .option('--prompt <text>', 'prompt text, encoded with the tokenizer in the model metadata')
    .option('--tokens <ids>', 'prompt as token ids instead, e.g. "1 42 7"', tokenList)
    .option('--max-tokens <n>', 'tokens to sample', nonNegativeInteger, 50)
    .option('--temperature <t>', 'softmax temperature; 0 = greedy', nonNegativeNumber, 1)
    .option('--top-k <k>', 'sample among the k most likely tokens; 0 = all', nonNegativeInteger, 0)
    .option('--top-p <p>', 'nucleus sampling mass; 1 = all', probability, 1)
    .option('--seed <n>', 'sampler seed (same seed, same output)', nonNegativeInteger, 0)
    .option('--stop-at-eos', 'stop after the first end-of-line token')
    .option('--json', 'print {text, tokens, promptTokens} as JSON')
    .addHelpText(
      'after',
      '\nPrints the continuation (not the prompt), rendered as `urgate serve` renders it (WikiText spacing undone); <unk> is never sampled.\nExample:\n  urgate generate --onnx exported/urlstm.step.onnx --prompt "The president said" --max-tokens 40 --temperature 0.8 --top-p 0.95 --seed 1',
    )
    .action(
      reportErrors('generate', io, async (options: GenerateCommandOptions) => {
        const r = await runGenerate(options);
        io.out(options.json ? `${JSON.stringify(r)}\n` : `${r.text ?? r.tokens.join(' ')}\n`);
      }),
    );
}
