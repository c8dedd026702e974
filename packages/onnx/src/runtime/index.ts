// The serving side: onnxruntime sessions, scoring and sampling. Imports neither tfjs nor @urgate/cells.

export {
  LOGIT_BUDGET,
  type PrefillRow,
  prefillRows,
  prefillStates,
  type ReadRow,
  type RowState,
  STATE_OUTPUTS,
  StepBuffers,
  stepRows,
  zeroRowState,
} from './batch.js';
export { classify } from './classify.js';
export { type ForgetGates, forgetGates } from './gates.js';
export { type GenerateOptions, generate } from './generate.js';
export { decodeL2e, type L2eInputs } from './l2e.js';
export { type GraphKind, METADATA_KEY, type UrgateOnnxMetadata } from './metadata.js';
export { BatchSampler, batchSampler, type SampleRow } from './sampler.js';
export {
  rowSeed,
  type SamplingOptions,
  sampleToken,
  seededUniform,
  tokenLogprobs,
} from './sampling.js';
export {
  type ScoreOptions,
  type ScoreResult,
  type ScoreState,
  type ScoreWindow,
  scoreChunkLength,
  scoreTokens,
  scoreWindow,
  zeroScoreState,
} from './score.js';
export {
  type OpenOptions,
  openModel,
  type Provider,
  type UrgateModel,
  zeroStateTensor,
} from './session.js';
