// Decay periods D = 1/(1 - f) of effective forget gates, their histogram over a text and the
// model's initial distribution on the same bins (the paper's Table 4 / Figure 4).

/** What the server's model started from: see @urgate/serve src/gates.ts `InitialDecay`. */
export type InitialDecay =
  | { kind: 'point'; at: number; description: string }
  | { kind: 'uniform'; from: number; to: number; description: string }
  | { kind: 'inverse-square'; from: number; to: number; description: string };

/** Longest decay period shown: f within 1e-6 of 1 (float32 rounding of a saturated gate). */
const MAX_DECAY = 1e6;

export function decayPeriod(f: number): number {
  return 1 / Math.max(1 / MAX_DECAY, 1 - f);
}

export interface LayerSummary {
  /** Mean over the text of each unit's decay period. */
  meanDecay: Float64Array;
  /** Units by mean decay period, longest first. */
  order: number[];
}

/** `forget[token][unit]` of one layer. */
export function summarizeLayer(forget: number[][]): LayerSummary {
  const units = forget[0]?.length ?? 0;
  const meanDecay = new Float64Array(units);
  for (const row of forget) for (let j = 0; j < units; j++) meanDecay[j] += decayPeriod(row[j]);
  for (let j = 0; j < units; j++) meanDecay[j] /= Math.max(1, forget.length);
  const order = Array.from({ length: units }, (_, j) => j).sort(
    (a, b) => meanDecay[b] - meanDecay[a],
  );
  return { meanDecay, order };
}

/** Bin edges 1, 10^¼, 10^½, … up to the first one ≥ `largest` (at least 10). */
export function logBins(largest: number): number[] {
  const edges = [1];
  const top = Math.min(MAX_DECAY, Math.max(10, largest));
  for (let k = 1; edges[edges.length - 1] < top; k++) edges.push(10 ** (k / 4));
  return edges;
}

/** Fraction of `values` in each bin [edges[k], edges[k+1]); the last bin is closed. */
export function histogram(values: ArrayLike<number>, edges: number[]): number[] {
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let k = edges.findIndex((e) => e > v) - 1;
    if (k < 0) k = v >= edges[edges.length - 1] ? counts.length - 1 : 0;
    counts[Math.min(k, counts.length - 1)]++;
  }
  return counts.map((c) => c / Math.max(1, values.length));
}

function cdf(initial: InitialDecay, x: number): number {
  switch (initial.kind) {
    case 'point':
      return x >= initial.at ? 1 : 0;
    case 'uniform':
      return Math.min(1, Math.max(0, (x - initial.from) / (initial.to - initial.from)));
    case 'inverse-square': {
      // density ∝ 1/x² on [from, to]
      const c = Math.min(initial.to, Math.max(initial.from, x));
      return (1 / initial.from - 1 / c) / (1 / initial.from - 1 / initial.to);
    }
  }
}

/** Probability of each bin under the initial distribution (the last bin takes everything above). */
export function initialMass(initial: InitialDecay, edges: number[]): number[] {
  return edges
    .slice(0, -1)
    .map((lo, k) => (k === edges.length - 2 ? 1 : cdf(initial, edges[k + 1])) - cdf(initial, lo));
}
