// Bit-reversal permutation for permuted pixel tasks (appendix D.2).
//
// With k = ceil(log2 n), rev(j) reverses the k-bit binary representation of j; rev is
// a bijection of [0, 2^k). The permutation lists rev(0), rev(1), ..., rev(2^k - 1) in
// order and keeps the values < n. Because rev is a bijection, exactly the values 0..n-1
// survive, each once: the result is a permutation of [0, n). (Taking rev(i) for i < n
// instead would not be one: for n = 784, 183 of those values are >= 784, e.g.
// rev(7) = 896.)
//
// Use: permuted[t] = original[permutation[t]].

/** Number of bits k = ceil(log2 n) (0 for n = 1). */
export function bitWidth(n: number): number {
  let k = 0;
  while (2 ** k < n) k++;
  return k;
}

/** Reverses the low `bits` bits of `value`. */
export function reverseBits(value: number, bits: number): number {
  let r = 0;
  for (let i = 0; i < bits; i++) r = (r << 1) | ((value >>> i) & 1);
  return r;
}

export function bitReversalPermutation(n: number): Int32Array {
  if (!Number.isSafeInteger(n) || n < 1 || n > 2 ** 30) {
    throw new Error(`bitReversalPermutation n: expected an integer in [1, 2^30], got ${n}`);
  }
  const k = bitWidth(n);
  const perm = new Int32Array(n);
  let t = 0;
  for (let j = 0; j < 2 ** k; j++) {
    const r = reverseBits(j, k);
    if (r < n) perm[t++] = r;
  }
  return perm;
}
