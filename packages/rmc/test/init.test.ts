import { type RmcConfig, resolveRmcConfig, rmcParamLayout } from '@urgate/contract';
import { describe, expect, it } from 'vitest';
import { initialMemory, initRmcParams } from '../src/index.js';
import { configPair } from './helpers.js';
import { type RefConfig, refParamShapes } from './reference64.js';

const logit = (u: number) => Math.log(u / (1 - u));

describe('initial memory', () => {
  const base = { inputSize: 2, numHeads: 1 };
  it('memSize > memSlots: identity padded with zero columns', () => {
    const m = initialMemory({ ...base, memSlots: 2, headSize: 3 }, 2);
    expect(m.shape).toEqual([2, 2, 3]);
    expect(m.arraySync()).toEqual([
      [
        [1, 0, 0],
        [0, 1, 0],
      ],
      [
        [1, 0, 0],
        [0, 1, 0],
      ],
    ]);
  });
  it('memSize < memSlots: identity cut to memSize columns', () => {
    const m = initialMemory({ ...base, memSlots: 3, headSize: 2 }, 1);
    expect(m.shape).toEqual([1, 3, 2]);
    expect(m.arraySync()).toEqual([
      [
        [1, 0],
        [0, 1],
        [0, 0],
      ],
    ]);
  });
  it('memSize = memSlots: the identity', () => {
    expect(initialMemory({ ...base, memSlots: 2, headSize: 2 }, 1).arraySync()).toEqual([
      [
        [1, 0],
        [0, 1],
      ],
    ]);
  });
});

describe('initRmcParams', () => {
  const variants: Partial<RefConfig>[] = [
    {},
    { gateStyle: 'memory' },
    { gateStyle: 'none', numBlocks: 3, mlpLayers: 1 },
    { mechanism: 'OM-' },
  ];
  for (const overrides of variants)
    it(`names and shapes match the README table: ${JSON.stringify(overrides)}`, () => {
      const { cfg, ref } = configPair(overrides);
      const params = initRmcParams(cfg, 1);
      const shapes = Object.fromEntries(Object.entries(params).map(([n, t]) => [n, t.shape]));
      expect(shapes).toEqual(refParamShapes(ref));
    });

  it('is deterministic in the seed', () => {
    const { cfg } = configPair();
    const a = initRmcParams(cfg, 5);
    const b = initRmcParams(cfg, 5);
    const c = initRmcParams(cfg, 6);
    expect(a['blocks.1.qkv.W'].dataSync()).toEqual(b['blocks.1.qkv.W'].dataSync());
    expect(a['blocks.1.qkv.W'].dataSync()).not.toEqual(c['blocks.1.qkv.W'].dataSync());
  });

  it('weights are truncated normal with σ = 1/√fanIn, biases 0, norms (1, 0)', () => {
    const cfg: RmcConfig = { inputSize: 4, memSlots: 2, headSize: 16, numHeads: 4 };
    const params = initRmcParams(cfg, 3);
    const W = Array.from(params['mlp.0.W'].dataSync()); // [64, 64]
    const sd = 1 / 8;
    expect(Math.max(...W.map(Math.abs))).toBeLessThanOrEqual(2 * sd + 1e-7);
    const mean = W.reduce((a, b) => a + b, 0) / W.length;
    const std = Math.sqrt(W.reduce((a, b) => a + (b - mean) ** 2, 0) / W.length);
    // Standard deviation of N(0, 1) truncated to ±2: 0.8796.
    expect(Math.abs(std / sd - 0.8796)).toBeLessThan(0.03);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Array.from(params['mlp.0.b'].dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(params['blocks.0.qkvNorm.gamma'].dataSync()).every((v) => v === 1)).toBe(
      true,
    );
    expect(Array.from(params['gate.memory.b'].dataSync()).every((v) => v === 0)).toBe(true);
    const trainable = rmcParamLayout(resolveRmcConfig(cfg)).filter((s) => !s.trainable);
    expect(trainable.map((s) => s.name)).toEqual(['gate.offset']);
  });

  const D = 8;
  const gateCfg = (extra: Partial<RmcConfig>): RmcConfig => ({
    inputSize: 2,
    memSlots: 2,
    headSize: 4,
    numHeads: 2,
    ...extra,
  });
  const halves = (cfg: RmcConfig) => {
    const offset = Array.from(initRmcParams(cfg, 11)['gate.offset'].dataSync());
    return { first: offset.slice(0, D), f: offset.slice(D, 2 * D), rest: offset.slice(2 * D) };
  };

  it("'-': Sonnet's constant biases (forget 1, input 0 by default, or as configured)", () => {
    expect(halves(gateCfg({}))).toEqual({ first: Array(D).fill(0), f: Array(D).fill(1), rest: [] });
    const custom = halves(gateCfg({ forgetBias: 2.5, inputBias: -0.5 }));
    expect(custom.f).toEqual(Array(D).fill(2.5));
    expect(custom.first).toEqual(Array(D).fill(-0.5));
  });

  it("'OM-': constant biases and zero master offsets", () => {
    const h = halves(gateCfg({ mechanism: 'OM-', downsize: 4 }));
    expect(h).toEqual({ first: Array(D).fill(0), f: Array(D).fill(1), rest: Array(4).fill(0) });
  });

  it("'C-': forget offset log(U[1, tMax-1]), input offset its negative", () => {
    const h = halves(gateCfg({ mechanism: 'C-', tMax: 20 }));
    for (let k = 0; k < D; k++) {
      expect(h.f[k]).toBeGreaterThanOrEqual(0);
      expect(h.f[k]).toBeLessThanOrEqual(Math.log(19) + 1e-6);
      expect(h.first[k]).toBeCloseTo(-h.f[k], 6);
    }
    expect(new Set(h.f).size).toBe(D);
  });

  for (const mechanism of ['U-', 'UR-'] as const)
    it(`'${mechanism}': forget offset σ⁻¹(U[1/d, 1-1/d]) per unit, ${mechanism === 'UR-' ? 'refine' : 'input'} offset its negative`, () => {
      const h = halves(gateCfg({ mechanism }));
      for (let k = 0; k < D; k++) {
        expect(h.f[k]).toBeGreaterThanOrEqual(logit(1 / D) - 1e-6);
        expect(h.f[k]).toBeLessThanOrEqual(logit(1 - 1 / D) + 1e-6);
        expect(h.first[k]).toBeCloseTo(-h.f[k], 6);
      }
      expect(new Set(h.f).size).toBe(D);
    });
});
