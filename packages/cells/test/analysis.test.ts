import { layerLayout } from '@urgate/contract';
import { describe, expect, it } from 'vitest';
import {
  initLayerParams,
  quantile,
  refineGateCurves,
  sampleInitialForget,
  summarize,
} from '../src/index.js';

const sigma = (x: number) => 1 / (1 + Math.exp(-x));

describe('initial gate analysis', () => {
  it('with zero inputs the sampled F of a UGI layer is σ(b_f) of the same seed, and D = 1/(1-F)', () => {
    const cfg = { core: 'lstm' as const, mechanism: 'U-' as const, inputSize: 16, hiddenSize: 16 };
    const sample = sampleInitialForget('U-', {
      core: 'lstm',
      hiddenSize: 16,
      seed: 9,
      inputScale: 0,
      batch: 2,
    });
    const b = initLayerParams(cfg, 9).b.dataSync();
    const f = layerLayout(cfg).blocks.find((blk) => blk.name === 'f');
    Array.from(b.slice(f?.offset, (f?.offset ?? 0) + 16)).forEach((bk, k) => {
      expect(sample.forget[k]).toBeCloseTo(sigma(bk), 6);
      expect(sample.decay[k]).toBeCloseTo(1 / (1 - sigma(bk)), 3);
    });
  });

  it('R- with zero inputs: b_f = 1, b_r = 0 give g = 2·½·f + 0·f² = f = σ(1)', () => {
    const refine = sampleInitialForget('R-', { core: 'gru', hiddenSize: 8, inputScale: 0 });
    refine.forget.forEach((v) => {
      expect(v).toBeCloseTo(sigma(1), 6);
    });
  });

  it('quantiles interpolate linearly between order statistics and handle infinite decays', () => {
    expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([0, 10], 0.25)).toBe(2.5);
    expect(quantile([1, Number.POSITIVE_INFINITY], 0.99)).toBe(Number.POSITIVE_INFINITY);
    expect(quantile([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY], 0.5)).toBe(
      Number.POSITIVE_INFINITY,
    );
    const s = summarize([4, 1, 3, 2]);
    expect(s.mean).toBe(2.5);
    expect(s.quantiles[3]).toBe(2.5);
  });

  it('refine-gate curves follow g = 2rf + (1-2r)f² with g(0) = 0 and g(1) = 1', () => {
    const rows = refineGateCurves([0, 0.3, 1], 11);
    expect(rows).toHaveLength(33);
    for (const { r, f, g } of rows) expect(g).toBeCloseTo(2 * r * f + (1 - 2 * r) * f * f, 6);
    expect(() => refineGateCurves([1.5])).toThrow(
      /^rs: refine activations must lie in \[0, 1\], got 1.5/,
    );
  });
});
