// Train / validation / test splits disjoint by a hash of the program text, as in
// Zaremba & Sutskever's generator (there `str_hash(text) % 3`): a program lands in
// exactly one split, whatever seed or curriculum produced it.

export type Split = 'train' | 'validation' | 'test';
export const SPLITS: readonly Split[] = ['train', 'validation', 'test'];

/** FNV-1a, 32 bits, over the UTF-16 code units (programs are ASCII). */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The split a program belongs to: fnv1a32(program) % 3 → train, validation, test. */
export function splitOf(program: string): Split {
  return SPLITS[fnv1a32(program) % 3];
}

export function checkSplit(split: Split | undefined): void {
  if (split !== undefined && !SPLITS.includes(split)) {
    throw new Error(`split: expected one of ${SPLITS.join(', ')}, got '${String(split)}'`);
  }
}
