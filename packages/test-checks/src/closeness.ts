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
