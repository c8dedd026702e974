// This server's HTTP API as the page uses it: the OpenAI completions stream, /v1/models and
// /gates. Every failure becomes an ApiFailure whose message is meant to be read by a person.
import type { InitialDecay } from './decay.js';

export class ApiFailure extends Error {
  constructor(
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

/** `429 Too Many Requests: the server is at capacity … — retry in 3 s`. */
async function failure(r: Response): Promise<ApiFailure> {
  let message = r.statusText;
  try {
    const body = await r.json();
    if (body?.error?.message) message = String(body.error.message);
  } catch {
    // Not JSON (a proxy's page): the status line says what there is to say.
  }
  const retry = r.headers.get('retry-after');
  const wait = retry ? ` — retry in ${retry} s` : '';
  return new ApiFailure(`${r.status} ${r.statusText}: ${message}${wait}`, r.status);
}

async function request(path: string, init: RequestInit): Promise<Response> {
  let r: Response;
  try {
    r = await fetch(path, init);
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiFailure(`the server cannot be reached (${(e as Error).message})`);
  }
  if (!r.ok) throw await failure(r);
  return r;
}

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export interface ModelInfo {
  id: string;
  core: string;
  mechanism: string;
  numLayers: number;
  hiddenSize: number;
  vocabSize: number;
  gates: boolean;
  maxTokens: number;
  maxGateTokens: number;
}

export async function fetchModel(): Promise<ModelInfo> {
  const body = await (await request('/v1/models', {})).json();
  const m = body.data[0];
  const u = m.urgate ?? {};
  return {
    id: m.id,
    core: u.model?.core ?? '?',
    mechanism: u.model?.mechanism ?? '?',
    numLayers: u.model?.numLayers ?? 0,
    hiddenSize: u.model?.hiddenSize ?? 0,
    vocabSize: u.model?.vocabSize ?? 0,
    gates: u.gates === true,
    maxTokens: u.limits?.maxTokens ?? 1024,
    maxGateTokens: u.limits?.maxGateTokens ?? 0,
  };
}

export interface CompletionRequest {
  model: string;
  prompt: string;
  max_tokens: number;
  temperature: number;
  top_p: number;
  seed?: number;
}

/** A generated token: its text, log-probability and the top alternatives (text, logprob). */
export interface StreamedToken {
  text: string;
  logprob: number | null;
  top: [string, number][];
}

/**
 * Streams a completion (`stream: true`, `logprobs: 5`), calling `onTokens` as chunks arrive;
 * resolves with the finish reason. Aborting `signal` closes the connection, which cancels the
 * request on the server.
 */
export async function streamCompletion(
  body: CompletionRequest,
  signal: AbortSignal,
  onTokens: (tokens: StreamedToken[]) => void,
): Promise<string | null> {
  const r = await request('/v1/completions', {
    ...json({ ...body, stream: true, logprobs: 5 }),
    signal,
  });
  if (!r.body) throw new ApiFailure('the server sent no body');
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let finish: string | null = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const data = event
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n');
      if (data === '' || data === '[DONE]') continue;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new ApiFailure(`the server stopped: ${chunk.error.message}`);
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const lp = choice.logprobs;
      if (lp && lp.tokens.length > 0)
        onTokens(
          lp.tokens.map((text: string, k: number) => ({
            text,
            logprob: lp.token_logprobs[k],
            top: Object.entries(lp.top_logprobs[k] ?? {}) as [string, number][],
          })),
        );
      else if (choice.text) onTokens([{ text: choice.text, logprob: null, top: [] }]);
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  return finish;
}

export interface GatesResponse {
  tokens: string[];
  ids: number[];
  /** [layer][token][unit] */
  forget: number[][][];
  initial: InitialDecay;
}

export async function fetchGates(prompt: string, signal: AbortSignal): Promise<GatesResponse> {
  return (await request('/gates', { ...json({ prompt }), signal })).json();
}
