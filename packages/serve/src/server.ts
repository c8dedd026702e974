import { existsSync } from 'node:fs';
import { createServer, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { basename } from 'node:path';
import type { Provider, UrgateOnnxMetadata } from '@urgate/onnx/runtime';
import type { Tokenizer } from '@urgate/wikitext';
import Fastify, { type FastifyInstance } from 'fastify';
import { chatRoute } from './chat.js';
import { type CompletionsContext, completionsRoute } from './completions.js';
import { ApiError, errorBody, installErrorHandling } from './errors.js';
import { GateRunner, gatesRoute } from './gates.js';
import { lingerIfUnread, lingeringClose } from './linger.js';
import { ServerMetrics } from './metrics.js';
import { pageRoutes } from './page.js';
import { Scheduler } from './scheduler.js';
import { StateCache } from './state-cache.js';
import { registerStateCacheMetrics } from './state-metrics.js';
import { StateStore } from './state-store.js';
import { statesRoute } from './states.js';
import { modelTokenizer } from './text.js';

export interface ServerOptions {
  /** The step graph (`<name>.step.onnx`) used for generation. */
  modelPath: string;
  /**
   * The sequence graph (`<name>.sequence.onnx`) that prefills prompts in chunks. Default: the file
   * of that name next to `modelPath` when it exists; `null`: prompts are read by the step graph.
   */
  sequencePath?: string | null;
  /**
   * The gates graph (`<name>.gates.onnx`) behind `POST /gates` and the page's gate view. Default:
   * the file of that name next to `modelPath` when it exists; `null`: no `/gates`.
   */
  gatesPath?: string | null;
  /** Largest text `POST /gates` reads, in tokens (default 2048). */
  maxGateTokens?: number;
  /** The `model` clients name (default: `<name>` of `<name>.step.onnx`). */
  modelId?: string;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Inference worker threads, each batching its own sequences (default 1). */
  workers?: number;
  provider?: Provider;
  /** onnxruntime threads inside one operator, per worker (default 1). */
  intraOpThreads?: number;
  /** Sequences one worker advances per step at most (default 64). */
  maxBatch?: number;
  /** Requests that may wait for a batch row; beyond it, 429 with Retry-After (default 256). */
  maxQueue?: number;
  /**
   * Milliseconds a request may wait for a batch row (default 30000; 0: no bound). A request whose
   * estimated wait is longer gets 429 at once; a queued one that reaches it is taken out, 429.
   */
  maxQueueWait?: number;
  /** Largest `max_tokens` (default 1024). */
  maxTokensLimit?: number;
  /** Largest prompt, in tokens (default 100000). */
  maxPromptTokens?: number;
  /** Prompt tokens per sequence-graph call and sequence (default 64). */
  prefillChunk?: number;
  /** Rows × steps of one sequence-graph call (short prompts padded to the longest): how long decoding pauses for prefill (default 512). */
  prefillTokens?: number;
  /**
   * Milliseconds a stream's events may be held to leave together in one socket write (default 0:
   * each event is written when it is made). The first event after a quiet spell, the first token
   * included, is written at once.
   */
  streamInterval?: number;
  /** Milliseconds a completion may take from arrival to last token, else 504 (default 300000). */
  requestTimeout?: number;
  /** Milliseconds to receive a request's headers and body, else 408 and the connection closes (default 30000). */
  bodyTimeout?: number;
  /** Milliseconds `close()` lets running requests go on before cancelling them (default 30000). */
  drainTimeout?: number;
  /**
   * MiB of prefix states kept (LRU): a prompt that extends a sequence served before is prefilled
   * from its state (default 256; 0 turns the cache off).
   */
  stateCacheMb?: number;
  /**
   * Directory of named states (`save_state` / `from_state`, `/v1/states`), created if missing;
   * default: none (the state API is off).
   */
  stateDir?: string | null;
  /** Log requests with fastify's logger (default false). */
  logger?: boolean;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /** The `model` of /v1/completions. */
  modelId: string;
  /** The step graph's metadata (model, tokenizer, training, source). */
  metadata: UrgateOnnxMetadata;
  /**
   * Graceful stop: /ready turns 503 and new completions are refused (503) while running ones
   * finish, for at most `timeoutMs` (default `drainTimeout`); then what still runs is cancelled,
   * the listener closes and the workers stop.
   */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Texts `POST /gates` lets wait behind the one it runs; one more is answered 429. A text takes its
 * length in steps of the gates graph, so a short queue keeps the wait short.
 */
const GATE_QUEUE = 4;

/** `<name>.<graph>.onnx` next to `<name>.step.onnx`, when it exists. */
function siblingGraph(modelPath: string, graph: 'sequence' | 'gates'): string | null {
  if (!modelPath.endsWith('.step.onnx')) return null;
  const candidate = `${modelPath.slice(0, -'.step.onnx'.length)}.${graph}.onnx`;
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

function checkGatesGraph(
  gatesPath: string,
  step: UrgateOnnxMetadata,
  gates: UrgateOnnxMetadata,
): void {
  if (gates.graph !== 'lm-gates')
    throw new Error(
      `gatesPath ${gatesPath} is a ${gates.graph} graph, expected a language model's gates graph (<name>.gates.onnx)`,
    );
  if (gates.source.sha256 !== step.source.sha256)
    throw new Error(
      `gatesPath ${gatesPath} was exported from another checkpoint than the step graph (${gates.source.checkpoint} vs ${step.source.checkpoint})`,
    );
}

/** Public description of the tokenizer (not its vocabulary or model bytes). */
function tokenizerInfo(tokenizer: Tokenizer | null, reason: string | null) {
  if (!tokenizer) return { available: false, reason };
  return {
    available: true,
    ...tokenizer.identity,
    eosId: tokenizer.eosId,
    unkId: tokenizer.unkId,
    unknownIds: tokenizer.unknownIds,
  };
}

function positive(name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min)
    throw new Error(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`port must be an integer in [0, 65535], got ${port}`);
  const maxBatch = positive('maxBatch', options.maxBatch ?? 64);
  const limits = {
    maxTokens: positive('maxTokensLimit', options.maxTokensLimit ?? 1024),
    maxPromptTokens: positive('maxPromptTokens', options.maxPromptTokens ?? 100_000),
    maxSequences: maxBatch,
    requestTimeout: positive('requestTimeout', options.requestTimeout ?? 300_000),
    maxQueueWait: positive('maxQueueWait', options.maxQueueWait ?? 30_000, 0),
    streamInterval: positive('streamInterval', options.streamInterval ?? 0, 0),
  };
  const bodyTimeout = positive('bodyTimeout', options.bodyTimeout ?? 30_000);
  const drainTimeout = positive('drainTimeout', options.drainTimeout ?? 30_000, 0);
  const sequencePath =
    options.sequencePath === undefined
      ? siblingGraph(options.modelPath, 'sequence')
      : options.sequencePath;
  const gatesPath =
    options.gatesPath === undefined ? siblingGraph(options.modelPath, 'gates') : options.gatesPath;
  const maxGateTokens = positive('maxGateTokens', options.maxGateTokens ?? 2048, 2);
  const modelId = options.modelId ?? basename(options.modelPath).replace(/(\.step)?\.onnx$/, '');

  let metrics: ServerMetrics | null = null;
  const scheduler = await Scheduler.start(
    {
      stepPath: options.modelPath,
      sequencePath,
      provider: options.provider ?? 'cpu',
      intraOpThreads: positive('intraOpThreads', options.intraOpThreads ?? 1),
      prefillChunk: positive('prefillChunk', options.prefillChunk ?? 64),
      prefillTokens: positive('prefillTokens', options.prefillTokens ?? 512),
    },
    {
      workers: options.workers ?? 1,
      maxBatch,
      maxQueue: positive('maxQueue', options.maxQueue ?? 256, 0),
      maxQueueWait: limits.maxQueueWait,
      onStep: (batch, _prefilled, sampled) => metrics?.step(batch, sampled),
    },
  );
  metrics = new ServerMetrics({ queued: () => scheduler.queued, active: () => scheduler.active });
  const stateCacheMb = options.stateCacheMb ?? 256;
  if (!(Number.isFinite(stateCacheMb) && stateCacheMb >= 0))
    throw new Error(`stateCacheMb must be a number >= 0, got ${stateCacheMb}`);
  const stateCache = new StateCache(Math.floor(stateCacheMb * 2 ** 20));
  registerStateCacheMetrics(metrics.registry, stateCache);
  let app: FastifyInstance | null = null;
  let gates: GateRunner | null = null;
  try {
    const { step, sequence, graphsAgree } = scheduler.metadata;
    // Prompts are prefilled by the sequence graph only where its states are the step graph's bit
    // for bit (an older export's may not be): with a cache, a state reached by one graph is
    // continued by the other, and the answer must be a cold run's.
    const prefillBySequence = sequence !== null && (graphsAgree === true || !stateCache.enabled);
    checkGraphs(options.modelPath, sequencePath, step, sequence);
    if (gatesPath) {
      gates = await GateRunner.start(
        {
          path: gatesPath,
          provider: options.provider ?? 'cpu',
          intraOpThreads: positive('intraOpThreads', options.intraOpThreads ?? 1),
        },
        GATE_QUEUE,
      );
      checkGatesGraph(gatesPath, step, gates.metadata);
    }
    const { tokenizer, reason } = await modelTokenizer(step.tokenizer);
    const stateStore = options.stateDir
      ? await StateStore.open(options.stateDir, {
          sha256: step.source.sha256,
          numLayers: step.model.numLayers,
          hiddenSize: step.model.hiddenSize,
          cellState: step.model.core === 'lstm',
        })
      : null;
    const vocabSize = step.model.vocabSize as number;
    app = Fastify({
      logger: options.logger ?? false,
      // Room for the largest allowed prompt as text or as ids, plus the other fields.
      bodyLimit: Math.max(1 << 20, limits.maxPromptTokens * 16 + (1 << 16)),
      // Unknown fields are an error, not silently dropped: a misspelt `max_token` must not pass.
      ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
      // Node's own timer for receiving a whole request: a body sent byte by byte is cut (408).
      clientErrorHandler: (error: NodeJS.ErrnoException, socket: Socket) =>
        answerClientError(error, socket, bodyTimeout, () => metrics),
      serverFactory: (handler) =>
        createServer(
          {
            requestTimeout: bodyTimeout,
            headersTimeout: bodyTimeout,
            connectionsCheckingInterval: Math.min(1000, bodyTimeout),
          },
          handler,
        ),
    });
    installErrorHandling(app);
    installStrictJson(app);
    let draining = false;
    const server = app;
    const counters = metrics;
    app.addHook('onResponse', async (_request, reply) => {
      counters.responses.inc({ status: String(reply.statusCode) });
    });
    app.addHook('onSend', async (request, reply) => {
      // Responses finishing while draining end their keep-alive connection.
      if (draining) reply.header('connection', 'close');
      // An answer given before the body arrived (413, or any refusal): read and discard the rest.
      lingerIfUnread(request.raw, () => reply.header('connection', 'close'));
    });

    app.get('/health', async () => ({ status: 'ok' }));
    app.get('/ready', async (_request, reply) => {
      const why = draining ? 'draining' : scheduler.full ? 'queue full' : null;
      if (why) reply.code(503);
      return {
        status: why ? 'not ready' : 'ready',
        reason: why,
        queued: scheduler.queued,
        active: scheduler.active,
      };
    });
    app.get('/metrics', async (_request, reply) => {
      reply.header('content-type', counters.registry.contentType);
      return counters.registry.metrics();
    });
    app.get('/v1/models', async () => ({
      object: 'list',
      data: [
        {
          id: modelId,
          object: 'model',
          created: 0,
          owned_by: 'urgate',
          // Beyond the OpenAI fields: what the model is and what this server takes.
          urgate: {
            model: step.model,
            source: step.source,
            training: step.training,
            tokenizer: tokenizerInfo(tokenizer, reason),
            prefill: prefillBySequence ? 'sequence graph' : 'step graph',
            stateCache: { budgetBytes: stateCache.budget },
            gates: gates !== null,
            limits: { ...limits, maxGateTokens, maxBatch, workers: options.workers ?? 1 },
          },
        },
      ],
    }));
    const completions: CompletionsContext = {
      scheduler,
      metrics,
      modelId,
      tokenizer,
      tokenizerReason: reason,
      vocabSize,
      hasSequenceGraph: prefillBySequence,
      limits,
      stateCache,
      stateStore,
      draining: () => draining,
    };
    completionsRoute(app, completions);
    chatRoute(app, completions);
    statesRoute(app, stateStore, tokenizer);
    gatesRoute(app, {
      runner: gates,
      runnerReason: gatesPath
        ? ''
        : `this server has no gates graph (export the model again with \`urgate export\` to get ${options.modelPath.replace(/(\.step)?\.onnx$/, '')}.gates.onnx)`,
      tokenizer,
      tokenizerReason: reason,
      model: step.model,
      maxTokens: maxGateTokens,
      draining: () => draining,
    });
    await pageRoutes(app);
    const url = await app.listen({ host, port });
    const gateRunner = gates;
    let closing: Promise<void> | null = null;
    return {
      url,
      modelId,
      metadata: step,
      close: (timeoutMs = drainTimeout) => {
        closing ??= (async () => {
          draining = true;
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            scheduler.idle(),
            new Promise<void>((resolve) => {
              timer = setTimeout(resolve, timeoutMs);
            }),
          ]);
          clearTimeout(timer);
          await scheduler.close(); // cancels what still runs: those requests get a 503
          await gateRunner?.close();
          await server.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    await app?.close();
    await gates?.close();
    await scheduler.close();
    throw e;
  }
}

/**
 * Errors Node finds before a request reaches fastify: the request timer (408, the client still
 * sending), unparsable HTTP (400), headers too large (431). Answered in the OpenAI error shape;
 * a 408 with a lingering close so that a client still writing reads it.
 */
function answerClientError(
  error: NodeJS.ErrnoException,
  socket: Socket,
  bodyTimeout: number,
  metrics: () => ServerMetrics | null,
): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const status = timeout ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const message = timeout
    ? `the request's headers and body did not arrive within this server's ${bodyTimeout} ms`
    : status === 431
      ? 'the request headers are too large'
      : `malformed HTTP request (${error.code ?? error.message})`;
  const body = JSON.stringify(
    errorBody(status, message, { code: timeout ? 'request_timeout' : 'bad_http' }),
  );
  // As Node does: no answer when a response on this socket has started.
  const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !response?.headersSent) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    metrics()?.responses.inc({ status: String(status) });
  }
  // After a parse error the parser takes no more input: nothing to discard, close now.
  if (timeout) lingeringClose(socket);
  else socket.destroy();
}

/** JSON bodies must be valid UTF-8: a replacement character would silently change a prompt. */
function installStrictJson(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'ignore');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer' },
    (request, body: Buffer, done) => {
      let text: string;
      try {
        text = utf8.decode(body);
      } catch {
        done(new ApiError(400, 'body: not valid UTF-8', { code: 'invalid_utf8' }), undefined);
        return;
      }
      parseJson(request, text, done);
    },
  );
}
