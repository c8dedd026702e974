// The serving side: onnxruntime sessions, scoring and sampling. Imports neither tfjs nor @urgate/cells.

export { classify } from './classify.js';
export { type GenerateOptions, generate } from './generate.js';
export { decodeL2e, type L2eInputs } from './l2e.js';
export { type GraphKind, METADATA_KEY, type UrgateOnnxMetadata } from './metadata.js';
export { type SamplingOptions, sampleToken, seededUniform } from './sampling.js';
export { type ScoreOptions, type ScoreResult, scoreTokens } from './score.js';
export {
  type OpenOptions,
  openModel,
  type Provider,
  type UrgateModel,
  zeroStateTensor,
} from './session.js';
