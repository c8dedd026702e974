import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Provider, UrgateOnnxMetadata } from '@urgate/onnx/runtime';
import type { Tokenizer } from '@urgate/wikitext';
import Fastify, { type FastifyInstance } from 'fastify';
import { WorkerPool } from './pool.js';
import type { ScoreOutput } from './protocol.js';
import { BadRequestError, checkTokens, encodePrompt, encodeText, modelTokenizer } from './text.js';

export interface ServerOptions {
  /** The step graph (`<name>.step.onnx`) used for generation. */
  modelPath: string;
  /**
   * The sequence graph (`<name>.sequence.onnx`) used for scoring. Default: the file of that name
   * next to `modelPath` when it exists; `null`: no scoring endpoint.
   */
  sequencePath?: string | null;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Inference worker threads, each with its own sessions. Default: 2, or 1 on a single core. */
  workers?: number;
  provider?: Provider;
  /** onnxruntime threads inside one operator, per worker (default 1: the workers are the parallelism). */
  intraOpThreads?: number;
  /** Largest `maxTokens` a generate request may ask for (default 1024). */
  maxTokensLimit?: number;
  /** Largest number of tokens a request may send or a text may encode to (default 100000). */
  maxInputTokens?: number;
  /** Log requests with fastify's logger (default false). */
  logger?: boolean;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /** The step graph's metadata (model, tokenizer, training, source). */
  metadata: UrgateOnnxMetadata;
  /** Stops accepting connections, lets running requests finish, stops the workers. */
  close(): Promise<void>;
}

interface GenerateBody {
  prompt?: string;
  tokens?: number[];
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed?: number;
  stopToken?: number;
}

interface ScoreBody {
  text?: string;
  tokens?: number[];
}

function defaultSequencePath(modelPath: string): string | null {
  if (!modelPath.endsWith('.step.onnx')) return null;
  const candidate = `${modelPath.slice(0, -'.step.onnx'.length)}.sequence.onnx`;
  return existsSync(candidate) ? candidate : null;
}

function checkGraphs(
  modelPath: string,
  sequencePath: string | null,
  step: UrgateOnnxMetadata,
  sequence: UrgateOnnxMetadata | null,
): void {
  if (step.graph !== 'lm-step')
    throw new Error(
      `modelPath ${modelPath} is a ${step.graph} graph; serving needs a language model's step graph (<name>.step.onnx)`,
    );
  if (sequence && sequence.graph !== 'lm-sequence')
    throw new Error(
      `sequencePath ${sequencePath} is a ${sequence.graph} graph, expected a language model's sequence graph (<name>.sequence.onnx)`,
    );
  if (sequence && sequence.source.sha256 !== step.source.sha256)
    throw new Error(
      `sequencePath ${sequencePath} was exported from another checkpoint than ${modelPath} (${sequence.source.checkpoint} vs ${step.source.checkpoint})`,
    );
}

/** Public description of the tokenizer (not its vocabulary or model bytes). */
function tokenizerInfo(tokenizer: Tokenizer | null, reason: string | null) {
  if (!tokenizer) return { available: false, reason };
  return { available: true, ...tokenizer.identity, eosId: tokenizer.eosId, unkId: tokenizer.unkId };
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  const maxTokensLimit = options.maxTokensLimit ?? 1024;
  const maxInputTokens = options.maxInputTokens ?? 100_000;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`port must be an integer in [0, 65535], got ${port}`);
  for (const [name, value] of [
    ['maxTokensLimit', maxTokensLimit],
    ['maxInputTokens', maxInputTokens],
  ] as const)
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`${name} must be a positive integer, got ${value}`);
  const sequencePath =
    options.sequencePath === undefined
      ? defaultSequencePath(options.modelPath)
      : options.sequencePath;

  const pool = await WorkerPool.start(
    {
      stepPath: options.modelPath,
      sequencePath,
      provider: options.provider ?? 'cpu',
      intraOpThreads: options.intraOpThreads ?? 1,
    },
    options.workers ?? Math.min(2, availableParallelism()),
  );
  let app: FastifyInstance | null = null;
  try {
    const { step, sequence } = pool.metadata;
    checkGraphs(options.modelPath, sequencePath, step, sequence);
    const { tokenizer, reason } = await modelTokenizer(step.tokenizer);
    const vocabSize = step.model.vocabSize as number;
    app = Fastify({
      logger: options.logger ?? false,
      // Room for the largest allowed text (textField's maxLength) plus the other fields.
      bodyLimit: Math.max(1 << 20, maxInputTokens * 16 + (1 << 16)),
      // Unknown fields are an error, not silently dropped: a misspelt `max_tokens` must not pass.
      ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    });
    routes(app, {
      pool,
      step,
      sequence,
      tokenizer,
      reason,
      vocabSize,
      maxTokensLimit,
      maxInputTokens,
    });
    // Responses finishing after close() end their keep-alive connection, so that closing does not
    // wait for the idle timeout of the connections it let finish.
    let closing = false;
    app.addHook('onSend', async (_request, reply) => {
      if (closing) reply.header('connection', 'close');
    });
    const url = await app.listen({ host, port });
    const server = app;
    return {
      url,
      metadata: step,
      close: async () => {
        closing = true;
        await server.close();
        await pool.close();
      },
    };
  } catch (e) {
    await app?.close();
    await pool.close();
    throw e;
  }
}

interface Context {
  pool: WorkerPool;
  step: UrgateOnnxMetadata;
  sequence: UrgateOnnxMetadata | null;
  tokenizer: Tokenizer | null;
  reason: string | null;
  vocabSize: number;
  maxTokensLimit: number;
  maxInputTokens: number;
}

function routes(app: FastifyInstance, ctx: Context): void {
  const { pool, tokenizer, vocabSize } = ctx;
  const tokenArray = (minItems: number) => ({
    type: 'array',
    items: { type: 'integer' },
    minItems,
    maxItems: ctx.maxInputTokens,
  });
  const textField = (minLength: number) => ({
    type: 'string',
    minLength,
    maxLength: ctx.maxInputTokens * 16,
  });

  const requireTokenizer = (field: string): Tokenizer => {
    if (!tokenizer)
      throw new BadRequestError(
        `${field} (text) cannot be encoded: ${ctx.reason}; send tokens (ids) instead`,
      );
    return tokenizer;
  };
  const oneInput = (body: object, text: string) => {
    const given = [text, 'tokens'].filter((k) => k in body);
    if (given.length !== 1)
      throw new BadRequestError(
        `body must have exactly one of ${text} (text) or tokens (ids), got ${given.length === 0 ? 'neither' : 'both'}`,
      );
  };
  const limitLength = (ids: number[], field: string) => {
    if (ids.length > ctx.maxInputTokens)
      throw new BadRequestError(
        `${field} encodes to ${ids.length} tokens, more than this server's limit of ${ctx.maxInputTokens}`,
      );
  };

  app.get('/health', async () => ({ status: 'ok', workers: pool.size, pending: pool.pending }));

  app.get('/v1/model', async () => ({
    model: ctx.step.model,
    source: ctx.step.source,
    training: ctx.step.training,
    tokenizer: tokenizerInfo(tokenizer, ctx.reason),
    endpoints: { generate: true, score: ctx.sequence !== null },
    workers: pool.size,
    limits: { maxTokens: ctx.maxTokensLimit, maxInputTokens: ctx.maxInputTokens },
  }));

  app.post<{ Body: GenerateBody }>(
    '/v1/generate',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            prompt: textField(0),
            tokens: tokenArray(1),
            maxTokens: { type: 'integer', minimum: 0, maximum: ctx.maxTokensLimit, default: 32 },
            temperature: { type: 'number', minimum: 0, default: 1 },
            topK: { type: 'integer', minimum: 0, default: 0 },
            topP: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 1 },
            seed: { type: 'integer', minimum: 0, maximum: 0xffffffff },
            stopToken: { type: 'integer' },
          },
        },
      },
    },
    async (request) => {
      const body = request.body;
      oneInput(body, 'prompt');
      let prompt: number[];
      if (body.tokens) {
        checkTokens(body.tokens, vocabSize, 'tokens');
        prompt = body.tokens;
      } else {
        prompt = encodePrompt(requireTokenizer('prompt'), body.prompt as string);
        limitLength(prompt, 'prompt');
      }
      if (body.stopToken !== undefined) checkTokens([body.stopToken], vocabSize, 'stopToken');
      const seed = body.seed ?? randomInt(0x100000000);
      const tokens = (await pool.run({
        kind: 'generate',
        prompt,
        maxTokens: body.maxTokens,
        temperature: body.temperature,
        topK: body.topK,
        topP: body.topP,
        seed,
        stopToken: body.stopToken,
      })) as number[];
      return {
        text: tokenizer ? tokenizer.decode(tokens) : null,
        tokens,
        seed,
        promptTokens: prompt.length,
      };
    },
  );

  app.post<{ Body: ScoreBody }>(
    '/v1/score',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { text: textField(1), tokens: tokenArray(2) },
        },
      },
    },
    async (request, reply) => {
      if (!ctx.sequence) {
        reply.code(501);
        return {
          statusCode: 501,
          error: 'Not Implemented',
          message:
            'this server has no sequence model: start it with the <name>.sequence.onnx graph to score',
        };
      }
      const body = request.body;
      oneInput(body, 'text');
      let task: { kind: 'score'; tokens: number[]; words?: number };
      if (body.tokens) {
        checkTokens(body.tokens, vocabSize, 'tokens');
        task = { kind: 'score', tokens: body.tokens };
      } else {
        const { ids, words } = encodeText(requireTokenizer('text'), body.text as string);
        limitLength(ids, 'text');
        task = { kind: 'score', tokens: ids, words };
      }
      const r = (await pool.run(task)) as ScoreOutput;
      return {
        nll: r.nll,
        tokens: r.tokens,
        tokenPerplexity: r.tokenPerplexity,
        words: task.words ?? null,
        wordPerplexity: r.wordPerplexity,
      };
    },
  );
}
