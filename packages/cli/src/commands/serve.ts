import type { RunningServer } from '@urgate/serve';
import { Command, Option } from 'commander';
import {
  type CliIO,
  nonNegativeInteger,
  nonNegativeNumber,
  port,
  positiveInteger,
  positiveNumber,
  processIO,
  reportErrors,
} from './common.js';

export interface ServeCommandOptions {
  onnx: string;
  sequence?: string;
  gates?: string;
  maxGateTokens?: number;
  modelId?: string;
  host: string;
  port: number;
  workers?: number;
  provider: 'cpu' | 'cuda';
  maxTokensLimit: number;
  maxPromptTokens?: number;
  maxBatch?: number;
  maxQueue?: number;
  /** Seconds; 0: no bound. */
  maxQueueWait?: number;
  /** Seconds. */
  requestTimeout?: number;
  /** Seconds. */
  bodyTimeout?: number;
  /** Seconds. */
  drainTimeout?: number;
  /** MiB of cached prefix states; 0: off. */
  stateCacheMb?: number;
  /** Directory of named states; none: the state API is off. */
  stateDir?: string;
  /** Milliseconds a stream's events may be held for one socket write; 0: each at once. */
  streamInterval?: number;
}

const ms = (seconds: number | undefined) =>
  seconds === undefined ? undefined : Math.round(seconds * 1000);

/** Starts the HTTP server (@urgate/serve: onnxruntime in worker threads; no tfjs is loaded). */
export async function runServe(options: ServeCommandOptions): Promise<RunningServer> {
  const { startServer } = await import('@urgate/serve');
  return startServer({
    modelPath: options.onnx,
    sequencePath: options.sequence,
    gatesPath: options.gates,
    maxGateTokens: options.maxGateTokens,
    modelId: options.modelId,
    host: options.host,
    port: options.port,
    workers: options.workers,
    provider: options.provider,
    maxTokensLimit: options.maxTokensLimit,
    maxPromptTokens: options.maxPromptTokens,
    maxBatch: options.maxBatch,
    maxQueue: options.maxQueue,
    maxQueueWait: ms(options.maxQueueWait),
    requestTimeout: ms(options.requestTimeout),
    bodyTimeout: ms(options.bodyTimeout),
    drainTimeout: ms(options.drainTimeout),
    stateCacheMb: options.stateCacheMb,
    stateDir: options.stateDir,
    streamInterval: options.streamInterval,
  });
}

export function serveCommand(io: CliIO = processIO): Command {
  return new Command('serve')
    .description(
      'Serve an exported language model over HTTP, OpenAI-compatible: POST /v1/completions (streaming, continuous batching), GET /v1/models, /health, /ready, /metrics; a page at / (generate, and the effective forget gates over a text) and POST /gates',
    )
    .requiredOption('--onnx <file>', 'the exported step graph (<name>.step.onnx), for generation')
    .option(
      '--sequence <file>',
      'the sequence graph, to prefill prompts in chunks (default: <name>.sequence.onnx next to --onnx, if present)',
    )
    .option(
      '--gates <file>',
      "the gates graph behind POST /gates and the page's gate view (default: <name>.gates.onnx next to --onnx, if present)",
    )
    .option(
      '--max-gate-tokens <n>',
      'largest text POST /gates reads, in tokens (default 2048)',
      positiveInteger,
    )
    .option('--model-id <id>', 'the model name clients send (default: <name>)')
    .option(
      '--host <host>',
      'address to listen on (loopback by default; 0.0.0.0 exposes it)',
      '127.0.0.1',
    )
    .option('--port <n>', 'port (0: any free port)', port, 8080)
    .option(
      '--workers <n>',
      'inference worker threads, each batching its own sequences (default 1)',
      positiveInteger,
    )
    .addOption(
      new Option('--provider <p>', 'onnxruntime execution provider')
        .choices(['cpu', 'cuda'])
        .default('cpu'),
    )
    .option('--max-batch <n>', 'sequences per worker step (default 64)', positiveInteger)
    .option(
      '--max-queue <n>',
      'requests that may wait for a batch row (the memory bound); beyond it 429 (default 256)',
      nonNegativeInteger,
    )
    .option(
      '--max-queue-wait <s>',
      'seconds a request may wait for a batch row: a request whose estimated wait is longer gets 429 at once, a queued one that reaches it is taken out with 429 (default 30; 0: no bound)',
      nonNegativeNumber,
    )
    .option(
      '--max-tokens-limit <n>',
      'largest max_tokens a request may ask for',
      positiveInteger,
      1024,
    )
    .option('--max-prompt-tokens <n>', 'largest prompt in tokens (default 100000)', positiveInteger)
    .option(
      '--request-timeout <s>',
      'seconds a completion may take before 504 (default 300)',
      positiveNumber,
    )
    .option(
      '--body-timeout <s>',
      'seconds to receive a request before 408 (default 30)',
      positiveNumber,
    )
    .option(
      '--state-cache-mb <n>',
      'MiB of prefix states kept (LRU): a prompt that extends one served before (the next chat turn) is prefilled from there (default 256; 0: off)',
      nonNegativeNumber,
    )
    .option(
      '--state-dir <dir>',
      'directory of named states: completions with save_state / from_state, GET and DELETE /v1/states (default: off)',
    )
    .option(
      '--stream-interval <ms>',
      'milliseconds a stream may hold its events to send them in one socket write; the first after a quiet spell (the first token) goes at once (default 0: each event at once)',
      nonNegativeInteger,
    )
    .option(
      '--drain-timeout <s>',
      'on SIGTERM / Ctrl-C, seconds running requests may finish before they are cut (default 30)',
      positiveNumber,
    )
    .addHelpText(
      'after',
      `
Example:
  urgate serve --onnx exported/urlstm.step.onnx --port 8080
  curl -s localhost:8080/v1/completions -H 'content-type: application/json' \\
       -d '{"model": "urlstm", "prompt": "The president said", "max_tokens": 32, "temperature": 0.8, "seed": 1}'
  curl -sN localhost:8080/v1/completions -H 'content-type: application/json' \\
       -d '{"model": "urlstm", "prompt": "The president said", "max_tokens": 32, "stream": true}'
  curl -s localhost:8080/v1/completions -H 'content-type: application/json' \\
       -d '{"model": "urlstm", "prompt": "the state of the union", "max_tokens": 0, "echo": true, "logprobs": 0}'
  curl -s localhost:8080/v1/chat/completions -H 'content-type: application/json' \
       -d '{"model": "urlstm", "messages": [{"role": "user", "content": "What did the president say?"}], "max_tokens": 48}'
On SIGTERM / Ctrl-C it drains: /ready turns 503, new requests get 503, running ones finish
(at most --drain-timeout), then it exits.`,
    )
    .action(
      reportErrors('serve', io, async (options: ServeCommandOptions) => {
        const server = await runServe(options);
        const { model } = server.metadata;
        io.out(
          `serving ${options.onnx} as "${server.modelId}" (${model.core} ${model.mechanism}, ${model.numLayers} layers, vocabulary ${model.vocabSize}) at ${server.url}\n`,
        );
        io.out(`page: ${server.url}/ (generate, and the forget gates over a text)\n`);
        const stop = async (signal: string) => {
          io.out(`${signal}: draining (running requests finish first) and stopping\n`);
          await server.close();
          io.out('stopped\n');
        };
        process.once('SIGINT', () => void stop('SIGINT'));
        process.once('SIGTERM', () => void stop('SIGTERM'));
      }),
    );
}
