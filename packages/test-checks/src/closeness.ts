// How the tests compare a float32 computation with its reference, numpy's allclose as a number.

/**
 * The worst |actual - expected| / (atol + rtol·|expected|) over all elements: at most 1 passes
 * (numpy's allclose), a NaN is Infinity; the number makes a failure readable.
 */
export function closeness(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
  atol: number,
): number {
  if (actual.length !== expected.length)
    throw new Error(`length ${actual.length} vs ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const ratio = Math.abs(actual[i] - expected[i]) / (atol + rtol * Math.abs(expected[i]));
    worst = Math.max(worst, Number.isNaN(ratio) ? Number.POSITIVE_INFINITY : ratio);
  }
  return worst;
}

/**
 * The parity every native kernel and model meets against its float32 tfjs reference:
 * |native - reference| <= 1e-5 + 1e-4·|reference| (values and gradients are O(1)).
 */
export const NATIVE_PARITY = { rtol: 1e-4, atol: 1e-5 } as const;

/** closeness at NATIVE_PARITY: at most 1 passes. */
export function parityRatio(native: ArrayLike<number>, reference: ArrayLike<number>): number {
  return closeness(native, reference, NATIVE_PARITY.rtol, NATIVE_PARITY.atol);
}
