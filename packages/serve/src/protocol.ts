// Messages between the server thread and its inference workers (structured-clone plain data).
import type { Provider, RowState, UrgateOnnxMetadata } from '@urgate/onnx/runtime';

export interface WorkerConfig {
  stepPath: string;
  sequencePath: string | null;
  provider: Provider;
  /** onnxruntime intra-op threads per worker session. */
  intraOpThreads: number;
  /** Prompt tokens a sequence reads per sequence-graph call. */
  prefillChunk: number;
  /** Most rows × steps of one prefill call, padding included (bounds the pause of decoding). */
  prefillTokens: number;
}

/**
 * How a sequence's prompt is read: `sequence` in chunks through the sequence graph (each prompt
 * token's log-probability comes with it), `step` one token per step in the decoding batch (where
 * the full distribution at each prompt position is known: top alternatives).
 */
export type PromptPath = 'sequence' | 'step';

/** One sequence (one choice of a completion) as the worker runs it. */
export interface SequenceSpec {
  id: number;
  /** At least one token; the last one is read by the step graph before the first sample. */
  prompt: number[];
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  /** Seed of this sequence's own random stream. */
  seed: number;
  /** [token, bias] added to the logits this sequence samples from (not to its logprobs). */
  logitBias: [number, number][];
  /** Top alternatives per generated (and, with `promptLogprobs`, prompt) token; null: no logprobs. */
  logprobs: number | null;
  /** Send the log-probability of every prompt token after the first. */
  promptLogprobs: boolean;
  promptPath: PromptPath;
  /** A state that has read the first `length` prompt tokens (a prefix cache hit): prefill starts there. */
  start: { length: number; state: RowState } | null;
  /** The sequence ends right after sampling one of these (not reading it): a chat turn's `<eos>`. */
  stopTokens: number[];
  /** Send `state` events: after the prompt's prefill and when the sequence leaves the batch. */
  keepStates: boolean;
}

export type WorkerRequest =
  | { type: 'add'; sequence: SequenceSpec }
  | { type: 'cancel'; id: number };

/** `top`: [token, logprob] pairs, most likely first. */
export interface TokenEvent {
  kind: 'token';
  id: number;
  token: number;
  logprob: number | null;
  top: [number, number][] | null;
}

/** Log-probabilities of prompt tokens `from`, `from + 1`, ... (index 0 is never scored). */
export interface PromptEvent {
  kind: 'prompt';
  id: number;
  from: number;
  logprobs: number[];
  top: [number, number][][] | null;
}

/** The state after reading the sequence's first `length` tokens (prompt, then its samples). */
export interface StateEvent {
  kind: 'state';
  id: number;
  length: number;
  state: RowState;
}

/** A sequence left the batch: it reached its length, was cancelled, or failed. */
export interface DoneEvent {
  kind: 'done';
  id: number;
  reason: 'length' | 'cancelled' | 'error';
  message?: string;
}

export type SequenceEvent = TokenEvent | PromptEvent | StateEvent | DoneEvent;

export type WorkerMessage =
  | {
      type: 'ready';
      step: UrgateOnnxMetadata;
      sequence: UrgateOnnxMetadata | null;
      /** The two graphs reach bit-identical states (null: no sequence graph); see `graphsAgree`. */
      graphsAgree: boolean | null;
    }
  | { type: 'failed'; message: string }
  /**
   * One scheduler iteration: `batch` rows in its step-graph call, `prefilled` prompt tokens read.
   * The samples without log-probabilities (most of them) come as `tokens`, (id, token) pairs,
   * after `events[0, tokensAt)` and before the rest: one typed array crosses threads in one copy,
   * where an object per token cost the worker more than sampling 64 rows.
   */
  | {
      type: 'events';
      batch: number;
      prefilled: number;
      events: SequenceEvent[];
      tokens: Int32Array;
      tokensAt: number;
    };
