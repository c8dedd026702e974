// POST /v1/chat/completions, OpenAI's chat API over a model trained on plain text: the messages
// become one plain-text transcript (CHAT_TEMPLATE below), the model continues the assistant's line,
// and the turn ends at the line's end. Each turn's prompt starts with the one before it, so the
// state the last turn ended in (cached) is where the next one's prefill starts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type Choice,
  type CompletionsContext,
  checkServed,
  nullable,
  type ResponseFormat,
  readStop,
  respond,
  type SamplingBody,
  samplingSchema,
  sequences,
} from './completions.js';
import { BadRequestError, encodePrompt } from './text.js';

/** The speaker names of the transcript, by OpenAI role. */
const CHAT_ROLES: Readonly<Record<string, string>> = {
  system: 'System',
  developer: 'System',
  user: 'User',
  assistant: 'Assistant',
};

// CHAT_TEMPLATE, the plain-text template: `System: …\nUser: …\nAssistant: …\nUser: …\nAssistant:`,
// one line per message, `<Speaker>: <content>` (content lines after the first stay lines of
// their own), then `Assistant:` left open for the reply. A reply ends at its line's end (`<eos>`),
// or at max_tokens.

interface ChatMessage {
  role: string;
  content: string | { type: string; text?: string }[] | null;
  name?: string;
}

interface ChatBody extends SamplingBody {
  messages: ChatMessage[];
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  logprobs?: boolean | null;
}

function bodySchema(ctx: CompletionsContext) {
  const maxTokens = nullable({ type: 'integer', minimum: 1, maximum: ctx.limits.maxTokens });
  return {
    type: 'object',
    additionalProperties: false,
    required: ['model', 'messages'],
    properties: {
      ...samplingSchema(ctx.limits),
      messages: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['role', 'content'],
          properties: {
            role: { type: 'string', enum: Object.keys(CHAT_ROLES) },
            content: {}, // a string or text parts: checked in messageText
            name: { type: 'string' },
          },
        },
      },
      max_tokens: maxTokens,
      max_completion_tokens: maxTokens,
      logprobs: nullable({ type: 'boolean' }),
    },
  };
}

function messageText(m: ChatMessage, k: number): string {
  const field = `messages[${k}].content`;
  if (typeof m.content === 'string') return m.content;
  if (Array.isArray(m.content)) {
    return m.content
      .map((part, j) => {
        if (part?.type !== 'text' || typeof part.text !== 'string')
          throw new BadRequestError(
            `${field}[${j}]: only text parts ({type: "text", text}) are supported`,
            field,
          );
        return part.text;
      })
      .join('');
  }
  throw new BadRequestError(`${field}: must be a string or an array of text parts`, field);
}

/** The transcript of `messages` in CHAT_TEMPLATE, ending with the open `Assistant:` line. */
function chatTranscript(messages: readonly ChatMessage[]): string {
  const lines = messages.map((m, k) => `${CHAT_ROLES[m.role]}: ${messageText(m, k).trim()}`);
  return `${lines.join('\n')}\n${CHAT_ROLES.assistant}:`;
}

/** The reply as a message: without the space that separates it from `Assistant:`. */
function chatFormat(): ResponseFormat {
  const begun = new Set<Choice>();
  const content = (c: Choice, text: string) => {
    if (begun.has(c)) return text;
    const trimmed = text.trimStart();
    if (trimmed !== '') begun.add(c);
    return trimmed;
  };
  return {
    idPrefix: 'chatcmpl',
    object: 'chat.completion',
    chunkObject: 'chat.completion.chunk',
    choice: (c, text) => ({
      index: c.index,
      message: { role: 'assistant', content: content(c, text), refusal: null },
      logprobs: null,
      finish_reason: c.finish,
    }),
    chunk: (c, text, _logprobs, first) => {
      const piece = content(c, text);
      if (!first && piece === '' && c.finish === null) return null;
      return {
        index: c.index,
        delta: first
          ? { role: 'assistant', content: piece }
          : piece === ''
            ? {}
            : { content: piece },
        logprobs: null,
        finish_reason: c.finish,
      };
    },
  };
}

async function chat(
  ctx: CompletionsContext,
  request: FastifyRequest<{ Body: ChatBody }>,
  reply: FastifyReply,
): Promise<unknown> {
  const arrived = performance.now();
  const body = request.body;
  checkServed(ctx, body.model);
  if (!ctx.tokenizer)
    throw new BadRequestError(
      `messages: chat needs text: ${ctx.tokenizerReason}; use /v1/completions with token ids`,
      'messages',
    );
  if (body.logprobs)
    throw new BadRequestError('logprobs: not supported in chat (use /v1/completions)', 'logprobs');
  for (const key of ['frequency_penalty', 'presence_penalty'] as const)
    if (body[key] != null && body[key] !== 0)
      throw new BadRequestError(`${key}: only 0 is supported`, key);
  const stream = body.stream ?? false;
  if (body.stream_options && !stream)
    throw new BadRequestError('stream_options: only allowed with stream: true', 'stream_options');
  const prompt = encodePrompt(ctx.tokenizer, chatTranscript(body.messages), 'messages');
  if (prompt.length > ctx.limits.maxPromptTokens)
    throw new BadRequestError(
      `messages: ${prompt.length} tokens, more than this server's limit of ${ctx.limits.maxPromptTokens}`,
      'messages',
    );
  const job = sequences(ctx, {
    prompts: [prompt],
    n: body.n ?? 1,
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? 128,
    temperature: body.temperature ?? 1,
    topK: body.top_k ?? 0,
    topP: body.top_p ?? 1,
    seed: body.seed,
    logitBias: body.logit_bias,
    echo: false,
    logprobs: null,
    // The reply is one line: its end is the turn's end (the worker stops there, unread).
    stops: ['\n', ...readStop(body.stop)],
    stopTokens: [ctx.tokenizer.eosId],
    stream,
    includeUsage: body.stream_options?.include_usage ?? false,
  });
  return respond(ctx, reply, job, chatFormat(), arrived);
}

export function chatRoute(app: FastifyInstance, ctx: CompletionsContext): void {
  app.post<{ Body: ChatBody }>(
    '/v1/chat/completions',
    { schema: { body: bodySchema(ctx) } },
    (request, reply) => chat(ctx, request, reply),
  );
}
