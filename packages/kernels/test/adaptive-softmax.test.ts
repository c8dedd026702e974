// The adaptive softmax kernel against PyTorch's nn.AdaptiveLogSoftmaxWithLoss with the same
// weights (torch_adaptive_softmax.py, float64): loss, per-row log p(target), every gradient and
// the full log-distribution, for several cutoff sets including a single cluster, a cluster no
// target falls in, tied shortlists and tails larger than one row chunk.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adaptiveClusters, adaptiveTailHidden } from '@urgate/contract';
import { closeness } from '@urgate/test-checks';
import { describe, expect, it } from 'vitest';
import {
  type NativeAdaptiveParams,
  type NativeAdaptiveShape,
  nativeAvailable,
  nativeLoadError,
  requireNative,
} from '../src/native.js';
import { Lcg } from './helpers.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch_adaptive_softmax.py');

interface Case {
  name: string;
  spec: NativeAdaptiveShape;
  params: Required<NativeAdaptiveParams>;
  x: Float32Array;
  targets: Int32Array;
  logProb: boolean;
}

interface TorchResult {
  loss: number;
  logp: number[];
  dx: number[];
  grads: {
    shortlist: number[];
    clusters: number[];
    headB: number[];
    proj: number[][];
    out: number[][];
  };
  tailHidden: number[];
  logProb?: number[];
}

function makeCase(
  name: string,
  shape: { V: number; d: number; cutoffs: number[]; tailDiv: number; N: number; tied: boolean },
  pickTarget: (rng: Lcg) => number,
  seed: number,
): Case {
  const { V, d, cutoffs, tailDiv, N, tied } = shape;
  const rng = new Lcg(seed);
  const a = { cutoffs, tailDiv };
  const h = adaptiveTailHidden(d, a);
  const c0 = cutoffs[0];
  const n = cutoffs.length;
  return {
    name,
    spec: { vocabSize: V, inputSize: d, rows: N, cutoffs, tailDiv, tied },
    params: {
      shortlist: rng.array(d * c0, 1),
      clusters: rng.array(d * n, 1),
      headB: rng.array(c0 + n, 0.5),
      proj: h.map((hi) => rng.array(d * hi, 1)),
      out: adaptiveClusters(V, a).map(([b, e], i) => rng.array(h[i] * (e - b), 1)),
    },
    x: rng.array(N * d, 2),
    targets: Int32Array.from({ length: N }, () => pickTarget(rng)),
    logProb: V * N < 1e5,
  };
}

const uniformTarget = (V: number) => (rng: Lcg) => rng.index(V);

const CASES: Case[] = [
  makeCase(
    'three clusters, untied',
    { V: 50, d: 16, cutoffs: [10, 20, 35], tailDiv: 2, N: 40, tied: false },
    uniformTarget(50),
    7,
  ),
  makeCase(
    'two clusters, tied shortlist, div 4',
    { V: 60, d: 16, cutoffs: [12, 30], tailDiv: 4, N: 37, tied: true },
    uniformTarget(60),
    11,
  ),
  makeCase(
    'one cluster',
    { V: 40, d: 8, cutoffs: [25], tailDiv: 4, N: 30, tied: false },
    uniformTarget(40),
    13,
  ),
  makeCase(
    'a cluster no target falls in, a one-word cluster',
    { V: 48, d: 12, cutoffs: [5, 40, 47], tailDiv: 2, N: 25, tied: false },
    (rng) => rng.index(40),
    17,
  ),
  // tail 1 holds 69,800 words: its rows run in several chunks of 64
  makeCase(
    'a tail wider than one chunk',
    { V: 70000, d: 8, cutoffs: [100, 200], tailDiv: 2, N: 150, tied: false },
    (rng) => (rng.next() < 0.2 ? rng.index(200) : 200 + rng.index(69800)),
    19,
  ),
];

function torchReference(cases: Case[]): TorchResult[] {
  const input = cases.map((c) => ({
    ...c.spec,
    params: {
      shortlist: [...c.params.shortlist],
      clusters: [...c.params.clusters],
      headB: [...c.params.headB],
      proj: c.params.proj.map((p) => [...p]),
      out: c.params.out.map((p) => [...p]),
    },
    x: [...c.x],
    targets: [...c.targets],
    logProb: c.logProb,
  }));
  const r = spawnSync(PYTHON, [SCRIPT], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`${SCRIPT} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as TorchResult[];
}

describe.skipIf(!nativeAvailable)(
  `adaptive softmax against torch.nn.AdaptiveLogSoftmaxWithLoss${nativeAvailable ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    const addon = nativeAvailable ? requireNative('test') : undefined;
    const expected = nativeAvailable ? torchReference(CASES) : [];

    CASES.forEach((c, k) => {
      it(c.name, () => {
        const t = expected[k];
        const a = addon as NonNullable<typeof addon>;
        const N = c.spec.rows;
        expect(adaptiveTailHidden(c.spec.inputSize, c.spec)).toEqual(t.tailHidden);
        const train = a.adaptiveSoftmaxTrain(c.spec, c.params, c.x, c.targets, 1 / N);
        expect(train.loss / N).toBeCloseTo(t.loss, 5);
        const nll = a.adaptiveSoftmaxScore(c.spec, c.params, c.x, c.targets);
        expect(
          closeness(
            nll,
            t.logp.map((v) => -v),
            1e-5,
            1e-5,
          ),
        ).toBeLessThanOrEqual(1);
        expect(closeness(train.dx, t.dx, 1e-4, 1e-6)).toBeLessThanOrEqual(1);
        const g = train.grads;
        expect(closeness(g.shortlist, t.grads.shortlist, 1e-4, 1e-6)).toBeLessThanOrEqual(1);
        expect(closeness(g.clusters, t.grads.clusters, 1e-4, 1e-6)).toBeLessThanOrEqual(1);
        expect(closeness(g.headB, t.grads.headB, 1e-4, 1e-6)).toBeLessThanOrEqual(1);
        t.grads.proj.forEach((p, i) => {
          expect(closeness(g.proj[i], p, 1e-4, 1e-6)).toBeLessThanOrEqual(1);
          expect(closeness(g.out[i], t.grads.out[i], 1e-4, 1e-6)).toBeLessThanOrEqual(1);
        });
        if (t.logProb) {
          const lp = a.adaptiveSoftmaxLogProb(c.spec, c.params, c.x);
          expect(closeness(lp, t.logProb, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
        }
      });
    });

    it('the empty cluster gets zero gradients, as in torch', () => {
      const t = expected[3];
      expect(t.grads.out[1].every((v) => v === 0)).toBe(true); // cluster 1: ids [40, 47)
      const c = CASES[3];
      const g = (addon as NonNullable<typeof addon>).adaptiveSoftmaxTrain(
        c.spec,
        c.params,
        c.x,
        c.targets,
        1,
      ).grads;
      expect(g.out[1].every((v) => v === 0) && g.proj[1].every((v) => v === 0)).toBe(true);
    });

    it('refuses bad cutoffs and sizes in one line naming the field', () => {
      const a = addon as NonNullable<typeof addon>;
      const c = CASES[0];
      const run = (spec: Partial<NativeAdaptiveShape>) => () =>
        a.adaptiveSoftmaxScore({ ...c.spec, ...spec }, c.params, c.x, c.targets);
      expect(run({ cutoffs: [20, 10, 35] })).toThrow(
        /^spec\.adaptiveSoftmax\.cutoffs: expected strictly increasing cutoffs in \(0, 50\), got \[20, 10, 35\]$/,
      );
      expect(run({ cutoffs: [10, 20, 50] })).toThrow(
        /adaptiveSoftmax\.cutoffs: .*got \[10, 20, 50\]/,
      );
      expect(run({ tailDiv: 16 })).toThrow(
        /adaptiveSoftmax\.tailDiv: cluster 1's projection has no units/,
      );
      expect(() =>
        a.adaptiveSoftmaxScore(c.spec, { ...c.params, proj: [] }, c.x, c.targets),
      ).toThrow(/params\.proj: expected an Array of 3 Float32Array/);
    });
  },
);
