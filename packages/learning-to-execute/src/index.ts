export {
  type BatchKey,
  type DeepMindBatch,
  deepMindBatch,
  type ZarembaBatch,
  zarembaBatch,
} from './batch.js';
export {
  checkDeepMindLevel,
  DEEPMIND_END,
  DEEPMIND_MAX_LENGTH,
  DEEPMIND_PAD,
  DEEPMIND_START,
  DEEPMIND_TASK_OPS,
  DEEPMIND_TASKS,
  DEEPMIND_VOCABULARY,
  type DeepMindOp,
  type DeepMindSample,
  type DeepMindTask,
  deepMindSequenceLengths,
  deepMindTokenId,
  generateDeepMindProgram,
  isMemoryTask,
} from './deepmind.js';
export {
  DEEPMIND_CURRICULA,
  DeepMindCurriculum,
  type DeepMindCurriculumKind,
  type DeepMindCurriculumOptions,
  type DeepMindCurriculumState,
  type Level,
} from './deepmindCurriculum.js';
export { fnv1a32, SPLITS, type Split, splitOf } from './split.js';
export {
  generateZarembaProgram,
  ZAREMBA_BLOCKS,
  ZAREMBA_GO,
  ZAREMBA_MAX_LENGTH,
  ZAREMBA_MAX_NESTING,
  ZAREMBA_VOCABULARY,
  type ZarembaBlock,
  type ZarembaHardness,
  type ZarembaSample,
  zarembaTokenId,
} from './zaremba.js';
export {
  ZAREMBA_CURRICULA,
  ZarembaCurriculum,
  type ZarembaCurriculumKind,
} from './zarembaCurriculum.js';
