/**
 * An independent float64 implementation of one RMC step, written from
 * shared/reference/rmc.md and the README's parameter table in plain JavaScript (no tfjs,
 * nothing imported from the library). Tests use it as ground truth.
 */
export type Vec = number[];
export type Mat = number[][];

export interface RefConfig {
  inputSize: number;
  memSlots: number;
  headSize: number;
  numHeads: number;
  numBlocks: number;
  keySize: number;
  mlpLayers: number;
  gateStyle: 'unit' | 'memory' | 'none';
  mechanism: '-' | 'C-' | 'OM-' | 'U-' | 'UR-';
  downsize: number;
}

/** Flat row-major values with their shape, so finite differences can poke any element. */
export interface Flat {
  shape: number[];
  data: Float64Array;
}
export type RefParams = Record<string, Flat>;

/** Parameter names and shapes, typed in from the README table. */
export function refParamShapes(c: RefConfig): Record<string, number[]> {
  const D = c.headSize * c.numHeads;
  const F = c.numHeads * (2 * c.keySize + c.headSize);
  const shapes: Record<string, number[]> = { 'input.W': [c.inputSize, D], 'input.b': [D] };
  for (let k = 0; k < c.numBlocks; k++) {
    shapes[`blocks.${k}.qkv.W`] = [D, F];
    shapes[`blocks.${k}.qkv.b`] = [F];
    shapes[`blocks.${k}.qkvNorm.gamma`] = [F];
    shapes[`blocks.${k}.qkvNorm.beta`] = [F];
    shapes[`blocks.${k}.attentionNorm.gamma`] = [D];
    shapes[`blocks.${k}.attentionNorm.beta`] = [D];
    shapes[`blocks.${k}.mlpNorm.gamma`] = [D];
    shapes[`blocks.${k}.mlpNorm.beta`] = [D];
  }
  for (let l = 0; l < c.mlpLayers; l++) {
    shapes[`mlp.${l}.W`] = [D, D];
    shapes[`mlp.${l}.b`] = [D];
  }
  if (c.gateStyle !== 'none') {
    const G = c.gateStyle === 'unit' ? D : 1;
    const cols = c.mechanism === 'OM-' ? 2 * G + (2 * G) / c.downsize : 2 * G;
    shapes['gate.memory.W'] = [D, cols];
    shapes['gate.memory.b'] = [cols];
    shapes['gate.input.W'] = [D, cols];
    shapes['gate.input.b'] = [cols];
    shapes['gate.offset'] = [cols];
  }
  return shapes;
}

const sigma = (x: number) => 1 / (1 + Math.exp(-x));

function asMat(f: Flat): Mat {
  const [rows, cols] = f.shape;
  return Array.from({ length: rows }, (_, r) =>
    Array.from(f.data.subarray(r * cols, (r + 1) * cols)),
  );
}

function affine(x: Vec, W: Mat, b: Vec): Vec {
  return b.map((bias, j) => x.reduce((s, xi, i) => s + xi * W[i][j], bias));
}

function layerNorm(x: Vec, gamma: Vec, beta: Vec): Vec {
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
  return x.map((v, j) => ((v - mean) / Math.sqrt(variance + 1e-5)) * gamma[j] + beta[j]);
}

function cumax(v: Vec): Vec {
  const top = Math.max(...v);
  const e = v.map((x) => Math.exp(x - top));
  const total = e.reduce((a, b) => a + b, 0);
  let run = 0;
  return e.map((x) => {
    run += x / total;
    return run;
  });
}

/** Effective (F, I) of one slot from its gate pre-activations (Sonnet order: i or r, then f). */
function refGates(c: RefConfig, pre: Vec, G: number): { F: Vec; I: Vec } {
  const first = pre.slice(0, G);
  const a = pre.slice(G, 2 * G);
  switch (c.mechanism) {
    case '-':
    case 'C-':
    case 'U-':
      return { F: a.map(sigma), I: first.map(sigma) };
    case 'UR-': {
      const f = a.map(sigma);
      const r = first.map(sigma);
      const g = f.map((fk, k) => r[k] * (1 - (1 - fk) ** 2) + (1 - r[k]) * fk ** 2);
      return { F: g, I: g.map((v) => 1 - v) };
    }
    case 'OM-': {
      const m = G / c.downsize;
      const masterF = cumax(pre.slice(2 * G, 2 * G + m));
      const masterI = cumax(pre.slice(2 * G + m, 2 * G + 2 * m)).map((v) => 1 - v);
      const F: Vec = [];
      const I: Vec = [];
      for (let k = 0; k < G; k++) {
        const mf = masterF[Math.floor(k / c.downsize)];
        const mi = masterI[Math.floor(k / c.downsize)];
        const w = mf * mi;
        F.push(sigma(a[k]) * w + (mf - w));
        I.push(sigma(first[k]) * w + (mi - w));
      }
      return { F, I };
    }
  }
}

/** One step for the whole batch: x [B][inputSize], memory [B][N][D]. */
export function refStep(
  c: RefConfig,
  p: RefParams,
  x: Mat,
  memory: Mat[],
): { memory: Mat[]; output: Mat; forget?: Mat[]; input?: Mat[] } {
  const D = c.headSize * c.numHeads;
  const K = c.keySize;
  const V = c.headSize;
  const Q = 2 * K + V;
  const W = (name: string) => asMat(p[name]);
  const v = (name: string) => Array.from(p[name].data);
  const newMemory: Mat[] = [];
  const forgets: Mat[] = [];
  const inputs: Mat[] = [];

  x.forEach((xRow, b) => {
    const xHat = affine(xRow, W('input.W'), v('input.b'));
    let M: Mat = [...memory[b].map((row) => [...row]), xHat];
    for (let k = 0; k < c.numBlocks; k++) {
      const bp = (name: string) => `blocks.${k}.${name}`;
      const qkv = M.map((row) =>
        layerNorm(
          affine(row, W(bp('qkv.W')), v(bp('qkv.b'))),
          v(bp('qkvNorm.gamma')),
          v(bp('qkvNorm.beta')),
        ),
      );
      const attention: Mat = M.map(() => new Array(D).fill(0));
      for (let h = 0; h < c.numHeads; h++) {
        const q = qkv.map((row) => row.slice(h * Q, h * Q + K).map((e) => e / Math.sqrt(K)));
        const keys = qkv.map((row) => row.slice(h * Q + K, h * Q + 2 * K));
        const values = qkv.map((row) => row.slice(h * Q + 2 * K, h * Q + Q));
        q.forEach((qs, s) => {
          const logits = keys.map((kt) => kt.reduce((acc, e, j) => acc + e * qs[j], 0));
          const top = Math.max(...logits);
          const e = logits.map((l) => Math.exp(l - top));
          const total = e.reduce((a1, a2) => a1 + a2, 0);
          for (let j = 0; j < V; j++)
            attention[s][h * V + j] = values.reduce(
              (acc, vt, t) => acc + (e[t] / total) * vt[j],
              0,
            );
        });
      }
      M = M.map((row, s) =>
        layerNorm(
          row.map((e, j) => e + attention[s][j]),
          v(bp('attentionNorm.gamma')),
          v(bp('attentionNorm.beta')),
        ),
      );
      M = M.map((row) => {
        let hidden = row;
        for (let l = 0; l < c.mlpLayers; l++) {
          if (l > 0) hidden = hidden.map((e) => Math.max(e, 0));
          hidden = affine(hidden, W(`mlp.${l}.W`), v(`mlp.${l}.b`));
        }
        return layerNorm(
          row.map((e, j) => e + hidden[j]),
          v(bp('mlpNorm.gamma')),
          v(bp('mlpNorm.beta')),
        );
      });
    }
    const attended = M.slice(0, c.memSlots);
    if (c.gateStyle === 'none') {
      newMemory.push(attended);
      return;
    }
    const G = c.gateStyle === 'unit' ? D : 1;
    const fromInput = affine(xHat, W('gate.input.W'), v('gate.input.b'));
    const offset = v('gate.offset');
    const slotGates = memory[b].map((prev) => {
      const fromMemory = affine(prev.map(Math.tanh), W('gate.memory.W'), v('gate.memory.b'));
      return refGates(
        c,
        fromMemory.map((e, j) => e + fromInput[j] + offset[j]),
        G,
      );
    });
    forgets.push(slotGates.map((g) => g.F));
    inputs.push(slotGates.map((g) => g.I));
    newMemory.push(
      attended.map((row, s) =>
        row.map((e, j) => {
          const unit = G === 1 ? 0 : j;
          return slotGates[s].I[unit] * Math.tanh(e) + slotGates[s].F[unit] * memory[b][s][j];
        }),
      ),
    );
  });
  return {
    memory: newMemory,
    output: newMemory.map((slots) => slots.flat()),
    ...(c.gateStyle === 'none' ? {} : { forget: forgets, input: inputs }),
  };
}

/** Deterministic uniform numbers in [-1, 1) (a 32-bit LCG; tests need no real randomness). */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32) * 2 - 1;
  };
}

export function randomFlat(shape: number[], rand: () => number, scale = 1, centre = 0): Flat {
  const size = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float64Array.from({ length: size }, () => centre + scale * rand()) };
}

/** Random parameters: norms' gammas near 1, everything else around 0. */
export function randomParams(c: RefConfig, rand: () => number): RefParams {
  const params: RefParams = {};
  for (const [name, shape] of Object.entries(refParamShapes(c))) {
    const gamma = name.endsWith('.gamma');
    const scale = shape.length === 2 ? 1 / Math.sqrt(shape[0]) : 0.5;
    params[name] = randomFlat(shape, rand, gamma ? 0.3 : scale, gamma ? 1 : 0);
  }
  return params;
}
