// Messages between the server thread and its inference workers (structured-clone plain data).
import type { Provider, UrgateOnnxMetadata } from '@urgate/onnx/runtime';

export interface WorkerConfig {
  stepPath: string;
  sequencePath: string | null;
  provider: Provider;
  /** onnxruntime intra-op threads per worker session. */
  intraOpThreads: number;
}

export interface GenerateTask {
  kind: 'generate';
  prompt: number[];
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  stopToken?: number;
}

export interface ScoreTask {
  kind: 'score';
  tokens: number[];
  words?: number;
}

export type Task = GenerateTask | ScoreTask;

export interface ScoreOutput {
  tokens: number;
  nll: number;
  tokenPerplexity: number;
  wordPerplexity: number | null;
}

export type TaskOutput = number[] | ScoreOutput;

export type WorkerRequest = { id: number; task: Task };

export type WorkerMessage =
  | { type: 'ready'; step: UrgateOnnxMetadata; sequence: UrgateOnnxMetadata | null }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; output: TaskOutput }
  | { type: 'error'; id: number; message: string };
