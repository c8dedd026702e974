// POST /v1/completions, the OpenAI completions API: request checking, the sequences a request
// becomes (prompts × n), and the answer built from their token events — one JSON body, or
// server-sent events as the tokens come.
import { randomBytes, randomInt } from 'node:crypto';
import { rowSeed } from '@urgate/onnx/runtime';
import type { Tokenizer } from '@urgate/wikitext';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, errorBody } from './errors.js';
import type { ServerMetrics } from './metrics.js';
import type { SequenceEvent, SequenceSpec } from './protocol.js';
import { OverloadError, type Scheduler, type Ticket } from './scheduler.js';
import { BadRequestError, checkTokens, Detokenizer, encodePrompt, StopMatcher } from './text.js';

export interface CompletionsContext {
  scheduler: Scheduler;
  metrics: ServerMetrics;
  modelId: string;
  tokenizer: Tokenizer | null;
  /** Why there is no tokenizer. */
  tokenizerReason: string | null;
  vocabSize: number;
  hasSequenceGraph: boolean;
  limits: CompletionLimits;
  /** True once the server drains: new completions are refused (503). */
  draining(): boolean;
}

export interface CompletionLimits {
  maxTokens: number;
  maxPromptTokens: number;
  /** Sequences (prompts × n) per request. */
  maxSequences: number;
  /** Milliseconds from a request's arrival to its last token. */
  requestTimeout: number;
  /** Milliseconds a request may wait for a batch row (0: no bound). */
  maxQueueWait: number;
}

interface CompletionBody {
  model: string;
  prompt: unknown;
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  n?: number | null;
  stop?: unknown;
  seed?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  logprobs?: number | null;
  echo?: boolean | null;
  best_of?: number | null;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  suffix?: string | null;
  user?: string;
}

const nullable = (schema: Record<string, unknown>) => ({
  ...schema,
  type: [schema.type as string, 'null'],
});

function bodySchema(limits: CompletionLimits) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['model', 'prompt'],
    properties: {
      model: { type: 'string' },
      prompt: {}, // string, strings, ids or arrays of ids: checked in readPrompts
      max_tokens: nullable({ type: 'integer', minimum: 0, maximum: limits.maxTokens }),
      temperature: nullable({ type: 'number', minimum: 0, maximum: 2 }),
      top_p: nullable({ type: 'number', exclusiveMinimum: 0, maximum: 1 }),
      top_k: nullable({ type: 'integer', minimum: -1 }),
      n: nullable({ type: 'integer', minimum: 1, maximum: limits.maxSequences }),
      stop: {}, // string or up to 4 strings: checked in readStop
      seed: nullable({ type: 'integer' }),
      stream: nullable({ type: 'boolean' }),
      stream_options: nullable({
        type: 'object',
        additionalProperties: false,
        properties: { include_usage: { type: 'boolean' } },
      }),
      logprobs: nullable({ type: 'integer', minimum: 0, maximum: 5 }),
      echo: nullable({ type: 'boolean' }),
      best_of: nullable({ type: 'integer', minimum: 1 }),
      frequency_penalty: nullable({ type: 'number', minimum: -2, maximum: 2 }),
      presence_penalty: nullable({ type: 'number', minimum: -2, maximum: 2 }),
      logit_bias: nullable({ type: 'object', additionalProperties: { type: 'number' } }),
      suffix: nullable({ type: 'string' }),
      user: { type: 'string' },
    },
  };
}

/** Fields accepted only at the value that changes nothing; anything else is refused by name. */
function refuseUnsupported(body: CompletionBody, n: number): void {
  if (body.best_of != null && body.best_of !== n)
    throw new BadRequestError(
      `best_of: only best_of = n (${n}) is supported (this server does not rank candidates)`,
      'best_of',
    );
  for (const key of ['frequency_penalty', 'presence_penalty'] as const)
    if (body[key] != null && body[key] !== 0)
      throw new BadRequestError(`${key}: only 0 is supported`, key);
  if (body.logit_bias && Object.keys(body.logit_bias).length > 0)
    throw new BadRequestError('logit_bias: not supported (send {} or leave it out)', 'logit_bias');
  if (body.suffix)
    throw new BadRequestError(
      'suffix: not supported (a left-to-right model has no insertion mode)',
      'suffix',
    );
}

function readStop(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list) || list.length > 4 || !list.every((s) => typeof s === 'string'))
    throw new BadRequestError('stop: must be a string or an array of at most 4 strings', 'stop');
  const empty = list.indexOf('');
  if (empty >= 0) throw new BadRequestError(`stop[${empty}]: must not be empty`, 'stop');
  return list;
}

interface Prompt {
  ids: number[];
}

function readPrompts(prompt: unknown, ctx: CompletionsContext): Prompt[] {
  const text = (s: string, field: string): Prompt => {
    if (!ctx.tokenizer)
      throw new BadRequestError(
        `${field}: text cannot be encoded: ${ctx.tokenizerReason}; send token ids instead`,
        'prompt',
      );
    return { ids: encodePrompt(ctx.tokenizer, s, field) };
  };
  const ids = (list: unknown[], field: string): Prompt => {
    if (list.length === 0)
      throw new BadRequestError(`${field}: must hold at least one token`, 'prompt');
    checkTokens(list as number[], ctx.vocabSize, field);
    return { ids: list as number[] };
  };
  const isId = (x: unknown) => Number.isInteger(x);
  let prompts: Prompt[];
  if (typeof prompt === 'string') prompts = [text(prompt, 'prompt')];
  else if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === 'string'))
    prompts = prompt.map((p, k) => text(p, `prompt[${k}]`));
  else if (Array.isArray(prompt) && prompt.length > 0 && prompt.every(isId))
    prompts = [ids(prompt, 'prompt')];
  else if (
    Array.isArray(prompt) &&
    prompt.length > 0 &&
    prompt.every((p) => Array.isArray(p) && p.every(isId))
  )
    prompts = prompt.map((p, k) => ids(p, `prompt[${k}]`));
  else
    throw new BadRequestError(
      'prompt: must be a string, an array of strings, an array of token ids or an array of arrays of token ids (not empty)',
      'prompt',
    );
  prompts.forEach((p, k) => {
    if (p.ids.length > ctx.limits.maxPromptTokens)
      throw new BadRequestError(
        `prompt${prompts.length > 1 ? `[${k}]` : ''}: ${p.ids.length} tokens, more than this server's limit of ${ctx.limits.maxPromptTokens}`,
        'prompt',
      );
  });
  return prompts;
}

/** Folds any integer seed into the 32 bits the sampler's streams use. */
function seed32(seed: number): number {
  return Number(BigInt.asUintN(32, BigInt(seed)));
}

interface Logprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

const emptyLogprobs = (): Logprobs => ({
  tokens: [],
  token_logprobs: [],
  top_logprobs: [],
  text_offset: [],
});

/** One choice of a completion as its sequence's events arrive. */
class Choice {
  readonly detok: Detokenizer;
  readonly stop: StopMatcher;
  /** Prompt tokens whose echo has been produced (echo only). */
  echoed = 0;
  /** Text length so far (echo + completion, before stop truncation), for text_offset. */
  offset = 0;
  tokens = 0;
  finish: 'stop' | 'length' | null = null;
  /** Not yet sent (streaming) or everything (one body). */
  text = '';
  logprobs: Logprobs | null;

  constructor(
    readonly index: number,
    readonly prompt: number[],
    readonly echo: boolean,
    wantLogprobs: boolean,
    tokenizer: Tokenizer | null,
    stops: string[],
  ) {
    this.detok = new Detokenizer(tokenizer, echo ? [] : prompt);
    this.stop = new StopMatcher(stops);
    this.logprobs = wantLogprobs ? emptyLogprobs() : null;
  }

  private tokenText(token: number): string {
    return this.detok.peek(token);
  }

  /** Echoes prompt tokens up to `upto` (exclusive), with the log-probabilities given for them. */
  echoPrompt(upto: number, logprobs?: number[], top?: [number, number][][] | null, from = 0) {
    for (; this.echoed < upto; this.echoed++) {
      const k = this.echoed;
      const lp = logprobs && k >= from ? logprobs[k - from] : null;
      // A token's top alternatives are rendered in the context before it, so before pushing it.
      const alternatives = top && k >= from ? top[k - from] : null;
      const pieceTop = this.logprobs
        ? alternatives
          ? [...alternatives, [this.prompt[k], lp ?? 0] as [number, number]]
          : lp === null
            ? null
            : [[this.prompt[k], lp] as [number, number]]
        : null;
      const topEntry = pieceTop
        ? Object.fromEntries(pieceTop.map(([t, v]) => [this.tokenText(t), v]))
        : null;
      const text = this.detok.push(this.prompt[k]);
      if (this.logprobs) {
        this.logprobs.tokens.push(text);
        this.logprobs.token_logprobs.push(lp);
        this.logprobs.top_logprobs.push(topEntry);
        this.logprobs.text_offset.push(this.offset);
      }
      this.offset += text.length;
      this.text += text;
    }
  }

  /** A sampled token; returns true when a stop string ended the choice. */
  token(token: number, logprob: number | null, top: [number, number][] | null): boolean {
    this.tokens++;
    // Alternatives are rendered in the context before the token, so before reading it.
    const withSampled = top ? [...top, [token, logprob ?? 0] as [number, number]] : null;
    const topEntry = withSampled
      ? Object.fromEntries(withSampled.map(([t, lp]) => [this.tokenText(t), lp]))
      : null;
    const piece = this.detok.push(token);
    if (this.logprobs) {
      this.logprobs.tokens.push(piece);
      this.logprobs.token_logprobs.push(logprob);
      this.logprobs.top_logprobs.push(topEntry);
      this.logprobs.text_offset.push(this.offset);
    }
    this.offset += piece.length;
    const r = this.stop.push(piece);
    this.text += r.text;
    if (r.stopped) this.finish = 'stop';
    return r.stopped;
  }

  end(): void {
    this.text += this.stop.flush();
    this.finish = 'length';
  }

  /** Takes the text and log-probabilities not sent yet. */
  take(): { text: string; logprobs: Logprobs | null } {
    const out = { text: this.text, logprobs: this.logprobs };
    this.text = '';
    if (this.logprobs) this.logprobs = emptyLogprobs();
    return out;
  }
}

export function completionsRoute(app: FastifyInstance, ctx: CompletionsContext): void {
  app.post<{ Body: CompletionBody }>(
    '/v1/completions',
    { schema: { body: bodySchema(ctx.limits) } },
    (request, reply) => complete(ctx, request, reply),
  );
}

async function complete(
  ctx: CompletionsContext,
  request: FastifyRequest<{ Body: CompletionBody }>,
  reply: FastifyReply,
): Promise<unknown> {
  const arrived = performance.now();
  const body = request.body;
  if (ctx.draining())
    throw new ApiError(503, 'the server is shutting down; retry on another instance', {
      code: 'draining',
      retryAfter: 1,
    });
  if (body.model !== ctx.modelId)
    throw new ApiError(
      404,
      `model ${JSON.stringify(body.model)} is not served here; GET /v1/models lists "${ctx.modelId}"`,
      {
        param: 'model',
        code: 'model_not_found',
      },
    );
  const n = body.n ?? 1;
  refuseUnsupported(body, n);
  const stops = readStop(body.stop);
  const prompts = readPrompts(body.prompt, ctx);
  if (prompts.length * n > ctx.limits.maxSequences)
    throw new BadRequestError(
      `n: ${prompts.length} prompts × n = ${n} make ${prompts.length * n} sequences, more than this server's ${ctx.limits.maxSequences} per request`,
      'n',
    );
  const echo = body.echo ?? false;
  const logprobs = body.logprobs ?? null;
  const maxTokens = body.max_tokens ?? 16;
  const seed = seed32(body.seed ?? randomInt(0x100000000));
  const topK = body.top_k ?? 0;
  // The sequence graph gives each prompt token's log-probability, not the whole distribution:
  // top alternatives at prompt positions need the prompt read by the step graph.
  const promptPath = ctx.hasSequenceGraph && !(echo && (logprobs ?? 0) > 0) ? 'sequence' : 'step';
  const specs: Omit<SequenceSpec, 'id'>[] = [];
  const choices: Choice[] = [];
  prompts.forEach((p, k) => {
    for (let j = 0; j < n; j++) {
      const index = k * n + j;
      specs.push({
        prompt: p.ids,
        maxTokens,
        temperature: body.temperature ?? 1,
        topK: Math.max(topK, 0),
        topP: body.top_p ?? 1,
        seed: rowSeed(seed, index),
        logprobs,
        promptLogprobs: echo && logprobs !== null,
        promptPath,
      });
      choices.push(new Choice(index, p.ids, echo, logprobs !== null, ctx.tokenizer, stops));
    }
  });

  const id = `cmpl-${randomBytes(12).toString('hex')}`;
  const created = Math.floor(Date.now() / 1000);
  const stream = body.stream ?? false;
  const includeUsage = body.stream_options?.include_usage ?? false;
  if (body.stream_options && !stream)
    throw new BadRequestError('stream_options: only allowed with stream: true', 'stream_options');
  const usage = () => {
    const promptTokens = prompts.reduce((s, p) => s + p.ids.length, 0);
    const completionTokens = choices.reduce((s, c) => s + c.tokens, 0);
    return {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    };
  };
  const chunk = (choiceList: object[], extra: object = {}) => ({
    id,
    object: 'text_completion',
    created,
    model: ctx.modelId,
    choices: choiceList,
    ...extra,
  });

  let ticket: Ticket | null = null;
  let settled = false;
  let firstToken = true;
  let resolveDone: () => void = () => {};
  let failure: ApiError | null = null;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const finish = (error: ApiError | null = null) => {
    if (settled) return;
    settled = true;
    failure = error;
    clearTimeout(deadline);
    resolveDone();
  };
  const dirty = new Set<Choice>();
  let flushQueued = false;
  let write: ((choice: Choice) => void) | null = null;
  const flush = () => {
    flushQueued = false;
    if (!write) return;
    for (const c of dirty) write(c);
    dirty.clear();
  };
  const touched = (c: Choice) => {
    dirty.add(c);
    if (!flushQueued && write) {
      flushQueued = true;
      queueMicrotask(flush);
    }
  };
  const maybeDone = () => {
    if (choices.every((c) => c.finish !== null)) finish();
  };

  const onEvent = (index: number, e: SequenceEvent) => {
    const c = choices[index];
    if (settled || c.finish !== null) return;
    if (e.kind === 'prompt') {
      c.echoPrompt(e.from + e.logprobs.length, e.logprobs, e.top, e.from);
      touched(c);
    } else if (e.kind === 'token') {
      if (firstToken) {
        firstToken = false;
        ctx.metrics.timeToFirstToken.observe((performance.now() - arrived) / 1000);
      }
      if (echo) c.echoPrompt(c.prompt.length);
      if (c.token(e.token, e.logprob, e.top)) ticket?.stop(index);
      touched(c);
      maybeDone();
    } else if (e.reason === 'error') {
      finish(new ApiError(500, `inference failed: ${e.message}`, { code: 'inference_error' }));
    } else if (e.reason === 'cancelled') {
      // Not asked for by this request (a stop string, its deadline, its client): the server stops.
      ctx.metrics.cancelled.inc({ reason: 'shutdown' });
      finish(
        new ApiError(503, 'the server shut down before the request finished', { code: 'shutdown' }),
      );
    } else if (e.reason === 'length') {
      if (echo) c.echoPrompt(c.prompt.length);
      c.end();
      touched(c);
      maybeDone();
    }
  };
  // Echo without log-probabilities is known before any inference.
  if (echo && logprobs === null) for (const c of choices) c.echoPrompt(c.prompt.length);

  let onAdmitted: () => void = () => {};
  const admitted = new Promise<void>((resolve) => (onAdmitted = resolve));
  try {
    ticket = ctx.scheduler.submit(specs, onEvent, {
      admitted: (waitedMs) => {
        ctx.metrics.queueWait.observe(waitedMs / 1000);
        onAdmitted();
      },
      expired: (retryAfter) => {
        ctx.metrics.rejected.inc({ reason: 'queue_timeout' });
        finish(
          new ApiError(
            429,
            `the server is at capacity: the request waited ${ctx.limits.maxQueueWait / 1000} s (this server's bound) without getting a batch row; retry later`,
            { code: 'queue_timeout', retryAfter },
          ),
        );
      },
    });
  } catch (e) {
    if (e instanceof OverloadError) {
      ctx.metrics.rejected.inc({ reason: e.reason });
      throw new ApiError(429, e.message, { code: e.reason, retryAfter: e.retryAfter });
    }
    throw new ApiError(503, (e as Error).message, { code: 'unavailable' });
  }
  ctx.metrics.promptTokens.inc(prompts.reduce((s, p) => s + p.ids.length, 0));
  const deadline = setTimeout(() => {
    ctx.metrics.cancelled.inc({ reason: 'deadline' });
    // Settled first: the cancellations that follow are this request's own, not a shutdown.
    finish(
      new ApiError(
        504,
        `the request did not finish within this server's ${ctx.limits.requestTimeout} ms`,
        {
          code: 'deadline_exceeded',
        },
      ),
    );
    ticket?.cancel();
  }, ctx.limits.requestTimeout);
  // A client that goes away cancels its queued or running sequences.
  reply.raw.once('close', () => {
    if (settled || reply.raw.writableFinished) return;
    ctx.metrics.cancelled.inc({ reason: 'disconnect' });
    finish(new ApiError(499, 'client closed the connection'));
    ticket?.cancel();
  });
  const observeEnd = () =>
    ctx.metrics.requestDuration.observe((performance.now() - arrived) / 1000);

  if (!stream) {
    await done;
    observeEnd();
    if (failure) throw failure;
    return {
      id,
      object: 'text_completion',
      created,
      model: ctx.modelId,
      choices: choices.map((c) => {
        const { text, logprobs: lp } = c.take();
        return { text, index: c.index, logprobs: lp, finish_reason: c.finish };
      }),
      usage: usage(),
    };
  }

  // The status line waits for a batch row: a request taken out of the queue at the wait bound
  // is still answered 429, before any byte of a stream.
  await Promise.race([admitted, done]);
  const refused = failure as ApiError | null;
  if (refused) {
    observeEnd();
    throw refused;
  }
  // Server-sent events: a chunk per choice as its text grows, then usage, then [DONE].
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  ctx.metrics.responses.inc({ status: '200' });
  const send = (data: unknown) => {
    if (!raw.destroyed) raw.write(`data: ${JSON.stringify(data)}\n\n`);
  };
  write = (c: Choice) => {
    const { text, logprobs: lp } = c.take();
    if (text === '' && c.finish === null && (!lp || lp.tokens.length === 0)) return;
    send(
      chunk(
        [{ text, index: c.index, logprobs: lp, finish_reason: c.finish }],
        includeUsage ? { usage: null } : {},
      ),
    );
  };
  for (const c of choices) touched(c);
  await done;
  flush();
  observeEnd();
  if (failure) {
    const f = failure as ApiError;
    send(errorBody(f.status, f.message, f.details));
  } else {
    if (includeUsage) send(chunk([], { usage: usage() }));
    if (!raw.destroyed) raw.write('data: [DONE]\n\n');
  }
  raw.end();
  return reply;
}
