/**
 * An independent float64 implementation of LAYOUT.md, written from the equations in plain
 * JavaScript (no tfjs, nothing imported from the library). Tests use it as ground truth.
 */
export type Matrix = number[][];
export interface RefConfig {
  core: 'lstm' | 'gru';
  mechanism: string;
  n: number;
  d: number;
  C: number;
}
export interface RefState {
  h: Matrix;
  c?: Matrix;
}
export interface RefExtras {
  reset?: number[];
  zoneoutC?: Matrix;
  zoneoutH?: Matrix;
}

const sigma = (x: number) => 1 / (1 + Math.exp(-x));

function cumax(v: number[]): number[] {
  const top = Math.max(...v);
  const e = v.map((x) => Math.exp(x - top));
  const total = e.reduce((a, b) => a + b, 0);
  let run = 0;
  return e.map((x) => (run += x / total));
}

/** Block names and widths in column order (LAYOUT.md "Block order"), typed in from the table. */
function refBlocks(cfg: RefConfig): [string, number][] {
  const { d, C } = cfg;
  const m = d / C;
  const refine = ['R-', 'UR-', 'OR-'].includes(cfg.mechanism);
  const master = ['OM-', 'UM-'].includes(cfg.mechanism);
  let names: string[];
  if (cfg.core === 'lstm')
    names = refine
      ? ['f', 'r', 'u', 'o']
      : master
        ? ['f', 'i', 'u', 'o', 'mf', 'mi']
        : ['f', 'i', 'u', 'o'];
  else
    names = refine ? ['f', 'r', 's', 'u'] : master ? ['f', 's', 'u', 'mf', 'mi'] : ['f', 's', 'u'];
  return names.map((name) => [name, name === 'mf' || name === 'mi' ? m : d]);
}

export function refCols(cfg: RefConfig): number {
  return refBlocks(cfg).reduce((a, [, w]) => a + w, 0);
}

/** Effective (F, I) for one batch row from its named pre-activations. */
function refGates(cfg: RefConfig, a: Record<string, number[]>): { F: number[]; I: number[] } {
  const { d, C, core, mechanism } = cfg;
  const lstm = core === 'lstm';
  switch (mechanism) {
    case '-':
    case 'C-':
    case 'U-': {
      const f = a.f.map(sigma);
      return { F: f, I: lstm ? a.i.map(sigma) : f.map((x) => 1 - x) };
    }
    case 'O-': {
      const f = cumax(a.f);
      return { F: f, I: lstm ? cumax(a.i).map((x) => 1 - x) : f.map((x) => 1 - x) };
    }
    case 'R-':
    case 'UR-':
    case 'OR-': {
      const f = mechanism === 'OR-' ? cumax(a.f) : a.f.map(sigma);
      const r = a.r.map(sigma);
      const g = f.map((fk, k) => r[k] * (1 - (1 - fk) ** 2) + (1 - r[k]) * fk ** 2);
      return { F: g, I: g.map((x) => 1 - x) };
    }
    case 'OM-':
    case 'UM-': {
      const f = a.f.map(sigma);
      const iota = lstm ? a.i.map(sigma) : f.map((x) => 1 - x);
      const mf = mechanism === 'OM-' ? cumax(a.mf) : a.mf.map(sigma);
      const mi = mechanism === 'OM-' ? cumax(a.mi).map((x) => 1 - x) : a.mi.map(sigma);
      const F: number[] = [];
      const I: number[] = [];
      for (let k = 0; k < d; k++) {
        const ft = mf[Math.floor(k / C)];
        const it = mi[Math.floor(k / C)];
        const w = ft * it;
        F.push(f[k] * w + (ft - w));
        I.push(iota[k] * w + (it - w));
      }
      return { F, I };
    }
  }
  throw new Error(`reference: unknown mechanism ${mechanism}`);
}

/** One step for the whole batch. W is [n + d][cols], b is [cols]. */
export function refStep(
  cfg: RefConfig,
  W: Matrix,
  b: number[],
  x: Matrix,
  state: RefState,
  extras: RefExtras = {},
): RefState {
  const { n, d, core } = cfg;
  const blocks = refBlocks(cfg);
  const cols = refCols(cfg);
  const hOut: Matrix = [];
  const cOut: Matrix = [];
  x.forEach((xRow, row) => {
    const keep = extras.reset ? 1 - extras.reset[row] : 1;
    const h = state.h[row].map((v) => v * keep);
    const c = state.c ? state.c[row].map((v) => v * keep) : undefined;
    const linear = (hIn: number[], col: number) => {
      let s = b[col];
      for (let j = 0; j < n; j++) s += xRow[j] * W[j][col];
      for (let k = 0; k < d; k++) s += hIn[k] * W[n + k][col];
      return s;
    };
    const all = Array.from({ length: cols }, (_, col) => linear(h, col));
    const a: Record<string, number[]> = {};
    let offset = 0;
    for (const [name, width] of blocks) {
      a[name] = all.slice(offset, offset + width);
      if (name === 'u') a.uOffset = [offset];
      offset += width;
    }
    if (core === 'gru') {
      const s = a.s.map(sigma);
      const sh = h.map((v, k) => s[k] * v);
      a.u = Array.from({ length: d }, (_, k) => linear(sh, a.uOffset[0] + k));
    }
    const { F, I } = refGates(cfg, a);
    const u = a.u.map(Math.tanh);
    const zh = extras.zoneoutH?.[row];
    const zc = extras.zoneoutC?.[row];
    if (core === 'gru') {
      const hNew = h.map((hk, k) => F[k] * hk + I[k] * u[k]);
      hOut.push(hNew.map((v, k) => (zh ? zh[k] * h[k] + (1 - zh[k]) * v : v)));
    } else {
      const cPrev = c as number[];
      const cNew = cPrev.map((ck, k) => F[k] * ck + I[k] * u[k]);
      const hNew = cNew.map((ck, k) => sigma(a.o[k]) * Math.tanh(ck));
      cOut.push(cNew.map((v, k) => (zc ? zc[k] * cPrev[k] + (1 - zc[k]) * v : v)));
      hOut.push(hNew.map((v, k) => (zh ? zh[k] * h[k] + (1 - zh[k]) * v : v)));
    }
  });
  return core === 'gru' ? { h: hOut } : { h: hOut, c: cOut };
}

export interface RefSequenceExtras {
  reset?: Matrix; // [T][B]
  zoneoutC?: Matrix[]; // [T][B][d]
  zoneoutH?: Matrix[];
}

export function refSequence(
  cfg: RefConfig,
  W: Matrix,
  b: number[],
  xs: Matrix[],
  state0: RefState,
  extras: RefSequenceExtras = {},
) {
  let state = state0;
  const outputs: Matrix[] = [];
  xs.forEach((x, t) => {
    state = refStep(cfg, W, b, x, state, {
      reset: extras.reset?.[t],
      zoneoutC: extras.zoneoutC?.[t],
      zoneoutH: extras.zoneoutH?.[t],
    });
    outputs.push(state.h);
  });
  return { outputs, state };
}

/** Small deterministic generator for test data (independent of the library's). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function randomMatrix(rows: number, cols: number, rand: () => number, scale = 1): Matrix {
  return Array.from({ length: rows }, () =>
    Array.from({ length: cols }, () => (2 * rand() - 1) * scale),
  );
}
