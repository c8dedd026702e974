import type { RunningServer } from '@urgate/serve';
import { Command, Option } from 'commander';
import { type CliIO, port, positiveInteger, processIO, reportErrors } from './common.js';

export interface ServeCommandOptions {
  onnx: string;
  sequence?: string;
  host: string;
  port: number;
  workers?: number;
  provider: 'cpu' | 'cuda';
  maxTokensLimit: number;
}

/** Starts the HTTP server (@urgate/serve: onnxruntime in worker threads; no tfjs is loaded). */
export async function runServe(options: ServeCommandOptions): Promise<RunningServer> {
  const { startServer } = await import('@urgate/serve');
  return startServer({
    modelPath: options.onnx,
    sequencePath: options.sequence,
    host: options.host,
    port: options.port,
    workers: options.workers,
    provider: options.provider,
    maxTokensLimit: options.maxTokensLimit,
  });
}

export function serveCommand(io: CliIO = processIO): Command {
  return new Command('serve')
    .description(
      'Serve an exported language model over HTTP: GET /health, GET /v1/model, POST /v1/generate, POST /v1/score',
    )
    .requiredOption('--onnx <file>', 'the exported step graph (<name>.step.onnx), for generation')
    .option(
      '--sequence <file>',
      'the sequence graph, for scoring (default: <name>.sequence.onnx next to --onnx, if present)',
    )
    .option(
      '--host <host>',
      'address to listen on (loopback by default; 0.0.0.0 exposes it)',
      '127.0.0.1',
    )
    .option('--port <n>', 'port (0: any free port)', port, 8080)
    .option(
      '--workers <n>',
      'inference worker threads, each with its own session (default: 2, 1 on one core)',
      positiveInteger,
    )
    .addOption(
      new Option('--provider <p>', 'onnxruntime execution provider')
        .choices(['cpu', 'cuda'])
        .default('cpu'),
    )
    .option(
      '--max-tokens-limit <n>',
      'largest maxTokens a request may ask for',
      positiveInteger,
      1024,
    )
    .addHelpText(
      'after',
      `
Example:
  urgate serve --onnx exported/urlstm.step.onnx --port 8080 --workers 2
  curl -s localhost:8080/v1/generate -H 'content-type: application/json' \\
       -d '{"prompt": "The president said", "maxTokens": 32, "temperature": 0.8, "seed": 1}'
  curl -s localhost:8080/v1/score -H 'content-type: application/json' -d '{"text": "the state of the union"}'
Stops cleanly on Ctrl-C / SIGTERM (running requests finish first).`,
    )
    .action(
      reportErrors('serve', io, async (options: ServeCommandOptions) => {
        const server = await runServe(options);
        const { model } = server.metadata;
        io.out(
          `serving ${options.onnx} (${model.core} ${model.mechanism}, ${model.numLayers} layers, vocabulary ${model.vocabSize}) at ${server.url}\n`,
        );
        const stop = async (signal: string) => {
          io.out(`${signal}: finishing running requests and stopping\n`);
          await server.close();
          io.out('stopped\n');
        };
        process.once('SIGINT', () => void stop('SIGINT'));
        process.once('SIGTERM', () => void stop('SIGTERM'));
      }),
    );
}
