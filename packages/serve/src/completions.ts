// POST /v1/completions, the OpenAI completions API: request checking, the sequences a request
// becomes (prompts × n), and the answer built from their token events — one JSON body, or
// server-sent events as the tokens come.
import { randomBytes, randomInt } from 'node:crypto';
import type { RowState } from '@urgate/onnx/runtime';
import { rowSeed } from '@urgate/onnx/runtime';
import type { Tokenizer } from '@urgate/wikitext';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, errorBody } from './errors.js';
import type { ServerMetrics } from './metrics.js';
import type { SequenceEvent, SequenceSpec } from './protocol.js';
import { OverloadError, type Scheduler, type Ticket } from './scheduler.js';
import type { CacheHit, StateCache } from './state-cache.js';
import { StateStore } from './state-store.js';
import { stateApiError } from './states.js';
import { StreamWriter } from './stream-writer.js';
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
  /** Prefix states: a prompt that extends a cached sequence is prefilled from there. */
  stateCache: StateCache;
  /** Named states on disk (`save_state`, `from_state`); null: off. */
  stateStore: StateStore | null;
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
  /** Milliseconds a stream's events may be held to leave in one socket write (0: each at once). */
  streamInterval: number;
}

/** The request fields the completions and chat endpoints share (OpenAI's names). */
export interface SamplingBody {
  model: string;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  n?: number | null;
  stop?: unknown;
  seed?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  user?: string;
}

interface CompletionBody extends SamplingBody {
  prompt: unknown;
  max_tokens?: number | null;
  logprobs?: number | null;
  echo?: boolean | null;
  best_of?: number | null;
  suffix?: string | null;
  save_state?: string | null;
  from_state?: string | null;
}

export const nullable = (schema: Record<string, unknown>) => ({
  ...schema,
  type: [schema.type as string, 'null'],
});

/** JSON schemas of the SamplingBody fields, for both endpoints' body schemas. */
export function samplingSchema(limits: CompletionLimits) {
  return {
    model: { type: 'string' },
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
    frequency_penalty: nullable({ type: 'number', minimum: -2, maximum: 2 }),
    presence_penalty: nullable({ type: 'number', minimum: -2, maximum: 2 }),
    logit_bias: nullable({
      type: 'object',
      additionalProperties: { type: 'number', minimum: -100, maximum: 100 },
    }),
    user: { type: 'string' },
  };
}

function bodySchema(limits: CompletionLimits) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['model', 'prompt'],
    properties: {
      ...samplingSchema(limits),
      prompt: {}, // string, strings, ids or arrays of ids: checked in readPrompts
      max_tokens: nullable({ type: 'integer', minimum: 0, maximum: limits.maxTokens }),
      logprobs: nullable({ type: 'integer', minimum: 0, maximum: 5 }),
      echo: nullable({ type: 'boolean' }),
      best_of: nullable({ type: 'integer', minimum: 1 }),
      suffix: nullable({ type: 'string' }),
      save_state: nullable({ type: 'string' }),
      from_state: nullable({ type: 'string' }),
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
  if (body.suffix)
    throw new BadRequestError(
      'suffix: not supported (a left-to-right model has no insertion mode)',
      'suffix',
    );
}

/**
 * `logit_bias` as [token, bias] pairs added to the logits a row samples from. An unknown word
 * (the tokenizer's `unknownIds`) is never sampled unless the request names it here (with any
 * bias, 0 included).
 */
export function readLogitBias(
  bias: Record<string, number> | null | undefined,
  vocabSize: number,
  unknownIds: readonly number[],
): [number, number][] {
  const pairs = Object.entries(bias ?? {}).map(([key, value]): [number, number] => {
    const token = /^(0|[1-9][0-9]*)$/.test(key) ? Number(key) : -1;
    if (!(token >= 0 && token < vocabSize))
      throw new BadRequestError(
        `logit_bias: key ${JSON.stringify(key)} is not a token id in [0, ${vocabSize})`,
        'logit_bias',
      );
    return [token, value];
  });
  for (const unknown of unknownIds)
    if (!pairs.some(([t]) => t === unknown)) pairs.push([unknown, Number.NEGATIVE_INFINITY]);
  return pairs;
}

export function readStop(stop: unknown): string[] {
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

export interface Logprobs {
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
export class Choice {
  readonly detok: Detokenizer;
  readonly stop: StopMatcher;
  /** Prompt tokens whose echo has been produced (echo only). */
  echoed = 0;
  /** Text length so far (echo + completion, before stop truncation), for text_offset. */
  offset = 0;
  tokens = 0;
  /** Prompt tokens a cached state covered (not prefilled). */
  cached = 0;
  /** Its sequence has left the batch (the worker's `done`). */
  left = false;
  /** The last state its sequence reported: it has read `length` of prompt + sampled. */
  lastState: { length: number; state: RowState } | null = null;
  /** Every token sampled, also after a stop string (the state the worker reports has read them). */
  readonly sampled: number[] = [];
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
    // A word the detokenizer held (it could still have become punctuation) ends with the text.
    const tail = this.detok.flush();
    if (tail !== '') {
      const pieces = this.logprobs?.tokens;
      if (pieces && pieces.length > 0) pieces[pieces.length - 1] += tail;
      this.offset += tail.length;
      const r = this.stop.push(tail);
      this.text += r.text;
      if (r.stopped) {
        this.finish = 'stop';
        return;
      }
    }
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
  const job = sequences(ctx, await completionRequest(ctx, request.body));
  return respond(ctx, reply, job, TEXT_COMPLETION, arrived);
}

/** A completions body checked and read into what to sample from which prompts. */
async function completionRequest(
  ctx: CompletionsContext,
  body: CompletionBody,
): Promise<SequencesRequest> {
  checkServed(ctx, body.model);
  const n = body.n ?? 1;
  refuseUnsupported(body, n);
  const stops = readStop(body.stop);
  const echo = body.echo ?? false;
  const saved = await savedStart(ctx, body, n, echo);
  const prompts = saved
    ? [[...saved.tokens, ...continuation(ctx, body.prompt)]]
    : readPrompts(body.prompt, ctx).map((p) => p.ids);
  const stream = body.stream ?? false;
  if (body.stream_options && !stream)
    throw new BadRequestError('stream_options: only allowed with stream: true', 'stream_options');
  return {
    prompts,
    n,
    maxTokens: body.max_tokens ?? 16,
    temperature: body.temperature ?? 1,
    topK: body.top_k ?? 0,
    topP: body.top_p ?? 1,
    seed: body.seed,
    logitBias: body.logit_bias,
    echo,
    logprobs: body.logprobs ?? null,
    stops,
    stopTokens: [],
    stream,
    includeUsage: body.stream_options?.include_usage ?? false,
    start: saved ? { length: saved.read, state: saved.state } : null,
    saveState: body.save_state ?? null,
  };
}

/**
 * The saved state a request continues (`from_state`), after checking what `save_state` and
 * `from_state` need: the state API on, one prompt, one choice, no echo with `from_state`.
 */
async function savedStart(ctx: CompletionsContext, body: CompletionBody, n: number, echo: boolean) {
  const field =
    body.save_state != null ? 'save_state' : body.from_state != null ? 'from_state' : null;
  if (field === null) return null;
  if (!ctx.stateStore)
    throw new BadRequestError(
      `${field}: saved states are off on this server (start it with --state-dir)`,
      field,
    );
  const single =
    typeof body.prompt === 'string' ||
    (Array.isArray(body.prompt) && body.prompt.every((t) => Number.isInteger(t)));
  if (!single || n !== 1) throw new BadRequestError(`${field}: needs one prompt and n = 1`, field);
  if (body.save_state != null) {
    try {
      StateStore.checkName(body.save_state, 'save_state');
    } catch (e) {
      throw new BadRequestError((e as Error).message, 'save_state');
    }
  }
  if (body.from_state == null) return null;
  if (echo) throw new BadRequestError('echo: not supported with from_state', 'echo');
  try {
    return await ctx.stateStore.load(body.from_state);
  } catch (e) {
    throw stateApiError(e);
  }
}

/** A prompt that continues a saved sequence: its text goes on where the sequence ends (no `<eos>` first). */
function continuation(ctx: CompletionsContext, prompt: unknown): number[] {
  if (typeof prompt === 'string') {
    if (!ctx.tokenizer)
      throw new BadRequestError(
        `prompt: text cannot be encoded: ${ctx.tokenizerReason}; send token ids instead`,
        'prompt',
      );
    return encodePrompt(ctx.tokenizer, prompt).slice(1);
  }
  const ids = prompt as number[];
  checkTokens(ids, ctx.vocabSize, 'prompt');
  return ids;
}

/** Refuses a completion while draining (503) or for another model (404). */
export function checkServed(ctx: CompletionsContext, model: string): void {
  if (ctx.draining())
    throw new ApiError(503, 'the server is shutting down; retry on another instance', {
      code: 'draining',
      retryAfter: 1,
    });
  if (model !== ctx.modelId)
    throw new ApiError(
      404,
      `model ${JSON.stringify(model)} is not served here; GET /v1/models lists "${ctx.modelId}"`,
      {
        param: 'model',
        code: 'model_not_found',
      },
    );
}

/** A checked request: what to sample from which prompts, and how to answer. */
export interface SequencesRequest {
  prompts: number[][];
  n: number;
  maxTokens: number;
  temperature: number;
  /** ≤ 0: every token. */
  topK: number;
  topP: number;
  /** Without one a random seed is drawn. */
  seed: number | null | undefined;
  logitBias: Record<string, number> | null | undefined;
  echo: boolean;
  logprobs: number | null;
  stops: string[];
  /** Tokens that end a sequence in the worker (see SequenceSpec). */
  stopTokens: number[];
  stream: boolean;
  includeUsage: boolean;
  /** A state to start from instead of a cache lookup (`from_state`), for every prompt. */
  start?: CacheHit | null;
  /** Save the state the (single) sequence ends in under this name. */
  saveState?: string | null;
}

/** The sequences (prompts × n) of a request and the choices that collect their events. */
export interface Job {
  request: SequencesRequest;
  specs: Omit<SequenceSpec, 'id'>[];
  choices: Choice[];
}

export function sequences(ctx: CompletionsContext, request: SequencesRequest): Job {
  const { prompts, n, echo, logprobs } = request;
  if (prompts.length * n > ctx.limits.maxSequences)
    throw new BadRequestError(
      `n: ${prompts.length} prompts × n = ${n} make ${prompts.length * n} sequences, more than this server's ${ctx.limits.maxSequences} per request`,
      'n',
    );
  const seed = seed32(request.seed ?? randomInt(0x100000000));
  const logitBias = readLogitBias(
    request.logitBias,
    ctx.vocabSize,
    ctx.tokenizer?.unknownIds ?? [],
  );
  // The sequence graph gives each prompt token's log-probability, not the whole distribution:
  // top alternatives at prompt positions need the prompt read by the step graph.
  const promptPath = ctx.hasSequenceGraph && !(echo && (logprobs ?? 0) > 0) ? 'sequence' : 'step';
  const specs: Omit<SequenceSpec, 'id'>[] = [];
  const choices: Choice[] = [];
  prompts.forEach((prompt, k) => {
    for (let j = 0; j < n; j++) {
      const index = k * n + j;
      const promptLogprobs = echo && logprobs !== null;
      // The prompt's last token is read by the step graph before the first sample, so a cached
      // state may cover all tokens but that one; scored prompts are read in full.
      const hit =
        request.start ?? (promptLogprobs ? null : ctx.stateCache.lookup(prompt, prompt.length - 1));
      specs.push({
        prompt,
        maxTokens: request.maxTokens,
        temperature: request.temperature,
        topK: Math.max(request.topK, 0),
        topP: request.topP,
        seed: rowSeed(seed, index),
        logitBias,
        logprobs,
        promptLogprobs,
        promptPath,
        start: hit,
        stopTokens: request.stopTokens,
        keepStates: ctx.stateCache.enabled || request.saveState != null,
      });
      choices.push(
        new Choice(index, prompt, echo, logprobs !== null, ctx.tokenizer, request.stops),
      );
      choices[index].cached = hit?.length ?? 0;
    }
  });
  return { request, specs, choices };
}

/** How the answer to a job is shaped: the completions or the chat API. */
export interface ResponseFormat {
  idPrefix: string;
  object: string;
  chunkObject: string;
  /** A choice of the one-body answer. */
  choice(c: Choice, text: string, logprobs: Logprobs | null): object;
  /** A choice of a stream chunk (`first`: its first), or null when there is nothing to send. */
  chunk(c: Choice, text: string, logprobs: Logprobs | null, first: boolean): object | null;
}

const TEXT_COMPLETION: ResponseFormat = {
  idPrefix: 'cmpl',
  object: 'text_completion',
  chunkObject: 'text_completion',
  choice: (c, text, logprobs) => ({ text, index: c.index, logprobs, finish_reason: c.finish }),
  chunk: (c, text, logprobs) =>
    text === '' && c.finish === null && (!logprobs || logprobs.tokens.length === 0)
      ? null
      : { text, index: c.index, logprobs, finish_reason: c.finish },
};

/**
 * Runs a job's sequences and answers: one JSON body, or server-sent events as the tokens come.
 * States the workers report go into the prefix cache under the tokens they have read.
 */
export async function respond(
  ctx: CompletionsContext,
  reply: FastifyReply,
  job: Job,
  format: ResponseFormat,
  arrived: number,
): Promise<unknown> {
  const run = new JobRun(ctx, job, format, arrived);
  // Echo without log-probabilities is known before any inference.
  if (job.request.echo && job.request.logprobs === null)
    for (const c of job.choices) c.echoPrompt(c.prompt.length);
  run.submit();
  run.watch(reply);
  return job.request.stream ? run.stream(reply) : run.body();
}

/** One job in flight: its sequences' events turned into its choices, and how its request ends. */
class JobRun {
  private readonly id: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private ticket: Ticket | null = null;
  private settled = false;
  private firstToken = true;
  private failure: ApiError | null = null;
  private resolveDone: () => void = () => {};
  /** Resolves when the request ends: every choice done, or a failure. */
  private readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));
  private resolveAdmitted: () => void = () => {};
  /** Resolves when the request's last sequence has left the queue for a batch row. */
  private readonly admitted = new Promise<void>((resolve) => (this.resolveAdmitted = resolve));
  private deadline: NodeJS.Timeout | undefined;
  /** Choices with text not yet written (streaming), written together once per microtask. */
  private readonly dirty = new Set<Choice>();
  private flushQueued = false;
  private write: ((choice: Choice) => void) | null = null;

  constructor(
    private readonly ctx: CompletionsContext,
    private readonly job: Job,
    private readonly format: ResponseFormat,
    private readonly arrived: number,
  ) {
    this.id = `${format.idPrefix}-${randomBytes(12).toString('hex')}`;
  }

  private usage() {
    const { request, choices } = this.job;
    const promptTokens = request.prompts.reduce((s, p) => s + p.length, 0);
    const completionTokens = choices.reduce((s, c) => s + c.tokens, 0);
    // Each prompt once, as prompt_tokens counts it: the cache hit of its first sequence.
    const cached = choices.reduce((s, c) => s + (c.index % request.n === 0 ? c.cached : 0), 0);
    return {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: cached },
    };
  }

  private chunk(choiceList: object[], extra: object = {}) {
    return {
      id: this.id,
      object: this.format.chunkObject,
      created: this.created,
      model: this.ctx.modelId,
      choices: choiceList,
      ...extra,
    };
  }

  private finish(error: ApiError | null = null): void {
    if (this.settled) return;
    this.settled = true;
    this.failure = error;
    clearTimeout(this.deadline);
    this.resolveDone();
  }

  private flush(): void {
    this.flushQueued = false;
    if (!this.write) return;
    for (const c of this.dirty) this.write(c);
    this.dirty.clear();
  }

  private touched(c: Choice): void {
    this.dirty.add(c);
    if (!this.flushQueued && this.write) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  /**
   * Ends the request once every choice is finished. With the cache on, the answer waits until
   * every sequence has left its batch (one step after a stop string), so that the state it ends
   * in is cached before the client's next turn.
   */
  private maybeDone(): void {
    const { choices, specs } = this.job;
    if (choices.every((c) => c.finish !== null && (c.left || !specs[c.index].keepStates)))
      this.finish();
  }

  private onEvent(index: number, e: SequenceEvent): void {
    const c = this.job.choices[index];
    if (e.kind === 'token') c.sampled.push(e.token);
    if (e.kind === 'state') {
      this.ctx.stateCache.insert([...c.prompt, ...c.sampled].slice(0, e.length), e.state);
      c.lastState = { length: e.length, state: e.state };
      return;
    }
    if (e.kind === 'done') c.left = true;
    if (this.settled) return;
    if (c.finish !== null) {
      if (e.kind === 'done') this.maybeDone();
      return;
    }
    if (e.kind === 'prompt') {
      c.echoPrompt(e.from + e.logprobs.length, e.logprobs, e.top, e.from);
      this.touched(c);
    } else if (e.kind === 'token') this.onToken(c, index, e);
    else this.onDone(c, e);
  }

  private onToken(c: Choice, index: number, e: Extract<SequenceEvent, { kind: 'token' }>): void {
    if (this.firstToken) {
      this.firstToken = false;
      this.ctx.metrics.timeToFirstToken.observe((performance.now() - this.arrived) / 1000);
    }
    if (this.job.request.echo) c.echoPrompt(c.prompt.length);
    if (c.token(e.token, e.logprob, e.top)) this.ticket?.stop(index);
    this.touched(c);
    this.maybeDone();
  }

  private onDone(c: Choice, e: Extract<SequenceEvent, { kind: 'done' }>): void {
    if (e.reason === 'error') {
      this.finish(new ApiError(500, `inference failed: ${e.message}`, { code: 'inference_error' }));
    } else if (e.reason === 'cancelled') {
      // Not asked for by this request (a stop string, its deadline, its client): the server stops.
      this.ctx.metrics.cancelled.inc({ reason: 'shutdown' });
      this.finish(
        new ApiError(503, 'the server shut down before the request finished', { code: 'shutdown' }),
      );
    } else if (e.reason === 'length') {
      if (this.job.request.echo) c.echoPrompt(c.prompt.length);
      c.end();
      this.touched(c);
      this.maybeDone();
    }
  }

  /** Queues the job's sequences; a full server answers 429 (or 503 while it shuts down). */
  submit(): void {
    const { ctx } = this;
    try {
      this.ticket = ctx.scheduler.submit(this.job.specs, (i, e) => this.onEvent(i, e), {
        admitted: (waitedMs) => {
          ctx.metrics.queueWait.observe(waitedMs / 1000);
          this.resolveAdmitted();
        },
        expired: (retryAfter) => {
          ctx.metrics.rejected.inc({ reason: 'queue_timeout' });
          this.finish(
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
    ctx.metrics.promptTokens.inc(this.job.request.prompts.reduce((s, p) => s + p.length, 0));
  }

  /** Cancels the job at the request's deadline (504) or when its client goes away (499). */
  watch(reply: FastifyReply): void {
    const { ctx } = this;
    this.deadline = setTimeout(() => {
      ctx.metrics.cancelled.inc({ reason: 'deadline' });
      // Settled first: the cancellations that follow are this request's own, not a shutdown.
      this.finish(
        new ApiError(
          504,
          `the request did not finish within this server's ${ctx.limits.requestTimeout} ms`,
          { code: 'deadline_exceeded' },
        ),
      );
      this.ticket?.cancel();
    }, ctx.limits.requestTimeout);
    reply.raw.once('close', () => {
      if (this.settled || reply.raw.writableFinished) return;
      ctx.metrics.cancelled.inc({ reason: 'disconnect' });
      this.finish(new ApiError(499, 'client closed the connection'));
      this.ticket?.cancel();
    });
  }

  private observeEnd(): void {
    this.ctx.metrics.requestDuration.observe((performance.now() - this.arrived) / 1000);
  }

  /** With `save_state`: the state the sequence ended in, under its name (before the answer ends). */
  private async save(): Promise<void> {
    const name = this.job.request.saveState;
    const c = this.job.choices[0];
    if (name == null || this.failure) return;
    if (!c.lastState) {
      this.failure = new ApiError(
        400,
        'save_state: the request read no token into a state (a one-token prompt and max_tokens 0)',
        { param: 'save_state' },
      );
      return;
    }
    try {
      await this.ctx.stateStore?.save(
        name,
        [...c.prompt, ...c.sampled],
        c.lastState.length,
        c.lastState.state,
      );
    } catch (e) {
      const refused = stateApiError(e);
      this.failure =
        refused instanceof ApiError
          ? refused
          : new ApiError(500, `save_state: ${(e as Error).message}`, { code: 'state_not_saved' });
    }
  }

  /** The answer as one JSON body, once every choice is done. */
  async body(): Promise<unknown> {
    await this.done;
    await this.save();
    this.observeEnd();
    if (this.failure) throw this.failure;
    return {
      id: this.id,
      object: this.format.object,
      created: this.created,
      model: this.ctx.modelId,
      choices: this.job.choices.map((c) => {
        const { text, logprobs } = c.take();
        return this.format.choice(c, text, logprobs);
      }),
      usage: this.usage(),
    };
  }

  /** Server-sent events: a chunk per choice as its text grows, then usage, then [DONE]. */
  async stream(reply: FastifyReply): Promise<unknown> {
    // The status line waits for a batch row: a request taken out of the queue at the wait bound
    // is still answered 429, before any byte of a stream.
    await Promise.race([this.admitted, this.done]);
    const refused = this.failure as ApiError | null;
    if (refused) {
      this.observeEnd();
      throw refused;
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    this.ctx.metrics.responses.inc({ status: '200' });
    const out = new StreamWriter(raw, this.ctx.limits.streamInterval);
    const send = (data: unknown) => out.write(`data: ${JSON.stringify(data)}\n\n`);
    const includeUsage = this.job.request.includeUsage;
    const started = new Set<Choice>();
    this.write = (c: Choice) => {
      const { text, logprobs } = c.take();
      const piece = this.format.chunk(c, text, logprobs, !started.has(c));
      if (!piece) return;
      started.add(c);
      send(this.chunk([piece], includeUsage ? { usage: null } : {}));
    };
    for (const c of this.job.choices) this.touched(c);
    await this.done;
    await this.save();
    this.flush();
    this.observeEnd();
    if (this.failure) {
      const f = this.failure as ApiError;
      send(errorBody(f.status, f.message, f.details));
    } else {
      if (includeUsage) send(this.chunk([], { usage: this.usage() }));
      out.write('data: [DONE]\n\n');
    }
    out.end();
    return reply;
  }
}
