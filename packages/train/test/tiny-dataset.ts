import type { ImageDataset, ImageSet } from '@urgate/tasks';

/** A tiny 4x4, 3-class image set whose label is readable from the pixels (brightness band). */
function tinySet(name: string, count: number, seed: number): ImageSet {
  const pixels = new Uint8Array(count * 16);
  const labels = new Uint8Array(count);
  let s = seed;
  for (let k = 0; k < count; k++) {
    labels[k] = k % 3;
    for (let p = 0; p < 16; p++) {
      s = (s * 1103515245 + 12345) >>> 0;
      pixels[k * 16 + p] = labels[k] * 80 + (s % 60);
    }
  }
  return { name, count, height: 4, width: 4, channels: 1, pixels, labels, numClasses: 3 };
}
export const tinyDataset: ImageDataset = {
  name: 'fashion-mnist',
  train: tinySet('train', 48, 1),
  validation: tinySet('validation', 12, 2),
  test: tinySet('test', 12, 3),
};
