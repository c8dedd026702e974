// HTTP inference over exported urgate ONNX models: the OpenAI completions API with continuous
// batching. Loads onnxruntime (in worker threads), fastify, prom-client and @urgate/wikitext's
// tokenizers — never tfjs, @urgate/cells or the native kernels.

export { readLogitBias } from './completions.js';
export type { SequenceEvent, SequenceSpec, WorkerConfig } from './protocol.js';
export {
  type ModelMetadata,
  OverloadError,
  type OverloadReason,
  type QueueHooks,
  Scheduler,
  type SchedulerOptions,
} from './scheduler.js';
export { type RunningServer, type ServerOptions, startServer } from './server.js';
export { type CacheHit, StateCache, type StateCacheStats } from './state-cache.js';
export {
  BadRequestError,
  checkTokens,
  Detokenizer,
  detokenize,
  encodePrompt,
  modelTokenizer,
  StopMatcher,
} from './text.js';
