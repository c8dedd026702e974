// The page's decay-period arithmetic (page/src/decay.ts), against closed forms.
import { describe, expect, it } from 'vitest';
import { decayPeriod, histogram, initialMass, logBins, summarizeLayer } from '../page/src/decay.js';

describe('decay periods on the page', () => {
  it('D = 1/(1 - f), capped where f rounds to 1', () => {
    expect(decayPeriod(0.5)).toBe(2);
    expect(decayPeriod(0.9)).toBeCloseTo(10, 12);
    expect(decayPeriod(1)).toBe(1e6);
  });

  it('sorts units by mean decay period over the text, longest first', () => {
    // unit 0: D = 2, 2; unit 1: D = 10, 1 (mean 5.5); unit 2: D = 4, 4
    const s = summarizeLayer([
      [0.5, 0.9, 0.75],
      [0.5, 0, 0.75],
    ]);
    expect(Array.from(s.meanDecay).map((v) => +v.toFixed(9))).toEqual([2, 5.5, 4]);
    expect(s.order).toEqual([1, 2, 0]);
  });

  it('bins values on quarter decades and each initial distribution has mass 1 on them', () => {
    const edges = logBins(40);
    expect(edges[0]).toBe(1);
    expect(edges.at(-1)).toBeGreaterThanOrEqual(40);
    expect(edges[4]).toBeCloseTo(10, 12);
    expect(histogram([1.5, 2, 9.9, 10, 100], edges)).toEqual(
      edges.slice(0, -1).map((lo, k) => {
        const n = [1.5, 2, 9.9, 10, 100].filter(
          (v) => (v >= lo && v < edges[k + 1]) || (k === edges.length - 2 && v >= edges[k + 1]),
        ).length;
        return n / 5;
      }),
    );
    const point = initialMass({ kind: 'point', at: 1 + Math.E, description: '' }, edges);
    expect(point[2]).toBe(1); // [10^0.5, 10^0.75) holds 1 + e = 3.72
    expect(point.reduce((a, b) => a + b, 0)).toBe(1);
    const uniform = initialMass({ kind: 'uniform', from: 2, to: 32, description: '' }, edges);
    expect(uniform.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(uniform[4]).toBeCloseTo((10 ** 1.25 - 10) / 30, 12);
    // density ∝ 1/D² on [a, b]: P(D < x) = (1/a - 1/x) / (1/a - 1/b)
    const pareto = initialMass({ kind: 'inverse-square', from: 1, to: 32, description: '' }, edges);
    expect(pareto.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(pareto[0]).toBeCloseTo((1 - 10 ** -0.25) / (1 - 1 / 32), 12);
  });
});
