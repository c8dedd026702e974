// HTTP inference over exported urgate ONNX models. Loads onnxruntime (in worker threads), fastify
// and @urgate/wikitext's tokenizers — never tfjs, @urgate/cells or the native kernels.
export { type PoolMetadata, WorkerPool } from './pool.js';
export type { GenerateTask, ScoreOutput, ScoreTask, Task, WorkerConfig } from './protocol.js';
export { type RunningServer, type ServerOptions, startServer } from './server.js';
export { BadRequestError, checkTokens, encodePrompt, encodeText, modelTokenizer } from './text.js';
