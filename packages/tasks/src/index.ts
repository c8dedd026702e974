export {
  CIFAR10_BATCH_RECORDS,
  CIFAR10_RECORD_BYTES,
  type CifarBatch,
  parseCifar10Batch,
  readCifar10Batch,
} from './cifar.js';
export { isGzip, readDataFile } from './dataFile.js';
export {
  DATASET_NAMES,
  type DatasetName,
  DEFAULT_VALIDATION_SIZE,
  FASHION_MNIST_DIR,
  type ImageDataset,
  type LoadOptions,
  loadImageDataset,
  readCifar10Files,
  readIdxImageSet,
} from './datasets.js';
export { type IdxArray, type IdxImages, parseIdx, readIdxImages, readIdxLabels } from './idx.js';
export {
  checkImageSet,
  epochOrder,
  type ImageSet,
  type PixelBatch,
  type PixelBatchOptions,
  type PixelOrder,
  pixelBatch,
  pixelBatches,
  pixelPermutation,
  sliceImageSet,
} from './images.js';
export { bitReversalPermutation, bitWidth, reverseBits } from './permutation.js';
export {
  ADDING_BASELINE_MSE,
  type AddingBatch,
  addingBatch,
  type BatchKey,
  COPY_BASELINE_LOSS,
  COPY_CUE,
  COPY_DATA_SYMBOLS,
  COPY_PATTERN_LENGTH,
  COPY_VOCAB_SIZE,
  type CopyBatch,
  copyBatch,
  FORGETTING_SETTINGS,
  forgettingBatch,
  SYNTHETIC_PROTOCOL,
} from './synthetic.js';
