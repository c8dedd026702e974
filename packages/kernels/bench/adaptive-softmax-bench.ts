// Training tokens/s of a WikiText-103-sized language model with a full softmax against the
// adaptive softmax, measured in the same run, on a synthetic Zipf(1) token stream over the
// vocabulary (speed does not depend on what the words mean, only on how often each cluster is
// hit). One step = the native model object's (NativeLm) train step (embedding, layers, output
// layer, loss, backward into the gradient arena) + Adam over the arenas (clip 0.1): what the
// trainer runs.
// Memory: parameters, gradients and Adam moments of each model, and the process's peak RSS after
// each model's run (adaptive first, so its peak is its own).
//
//   npm run bench:adaptive -w @urgate/kernels
//   URGATE_AS_BENCH="V,d,B,T,steps,layers,cutoffs" (cutoffs colon-separated) for another shape;
//   URGATE_NUM_THREADS threads (default 1).
import { machine } from '@urgate/bench';
import {
  type AdaptiveSoftmax,
  adaptiveClusters,
  adaptiveTailHidden,
  type LmArchitecture,
} from '@urgate/contract';
import { type LmLayerState, NativeLm, nativeThreads } from '@urgate/kernels/native';

const [V, d, B, T, STEPS, LAYERS, CUTS] = (
  process.env.URGATE_AS_BENCH ?? '267735,1024,32,64,2,1,20000:40000:200000'
).split(',');
const shape = { V: +V, d: +d, B: +B, T: +T, steps: +STEPS, layers: +LAYERS };
const adaptive: AdaptiveSoftmax = { cutoffs: CUTS.split(':').map(Number), tailDiv: 4 };
const GB = 2 ** 30;

/** Zipf(1) over [0, V): id k with probability ∝ 1 / (k + 1), drawn by inverse CDF. */
function zipfStream(n: number, seed: number): Int32Array {
  const cdf = new Float64Array(shape.V);
  let total = 0;
  for (let k = 0; k < shape.V; k++) cdf[k] = total += 1 / (k + 1);
  let s = seed;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 16807) % 2147483647;
    const u = (s / 2147483647) * total;
    let lo = 0;
    let hi = shape.V - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}

function arch(withAdaptive: boolean): LmArchitecture {
  return {
    core: 'lstm',
    mechanism: 'UR-',
    numLayers: shape.layers,
    vocabSize: shape.V,
    embeddingSize: shape.d,
    hiddenSize: shape.d,
    layerNorm: false,
    tiedEmbeddings: true,
    ...(withAdaptive ? { adaptiveSoftmax: adaptive } : {}),
  };
}

interface Outcome {
  tokensPerSecond: number;
  msPerStep: number;
  /** Of msPerStep: the optimizer (fused Adam over every parameter). */
  adamMs: number;
  /** CPU time of the process per step: on a loaded machine closer to the work than wall time. */
  cpuMsPerStep: number;
  paramCount: number;
  peakRssGb: number;
}

function run(a: LmArchitecture, tokens: Int32Array): Outcome {
  // the native model object: parameter, gradient and Adam arenas laid out by lmTensorShapes
  const model = new NativeLm(a);
  let seed = 5;
  for (let k = 0; k < model.params.length; k++) {
    seed = (seed * 16807) % 2147483647;
    model.params[k] = (seed / 2147483647 - 0.5) * 0.1;
  }
  const paramCount = model.params.length;
  const N = shape.B * shape.T;
  let state: LmLayerState[] = model.zeroState(shape.B);
  let adamMs = 0;
  const step = (k: number) => {
    const window = tokens.subarray(k * N, (k + 1) * N + 1);
    const r = model.trainStep(
      {
        steps: shape.T,
        batch: shape.B,
        inputs: window.slice(0, N),
        targets: window.slice(1, N + 1),
        resets: new Uint8Array(N),
      },
      state,
      { rate: 0.1, embeddingSeed: k, outputSeed: k + 1 },
    );
    const adamStart = performance.now();
    model.adamUpdate({ lr: 1e-3, clipNorm: 0.1 });
    if (k > 0) adamMs += performance.now() - adamStart;
    state = r.state;
    return r.loss;
  };
  step(0); // warm-up: first-touch of every buffer
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  for (let k = 1; k <= shape.steps; k++) step(k);
  const ms = (performance.now() - started) / shape.steps;
  const cpu = process.cpuUsage(cpuStarted);
  return {
    tokensPerSecond: N / (ms / 1000),
    msPerStep: ms,
    adamMs: adamMs / shape.steps,
    cpuMsPerStep: (cpu.user + cpu.system) / 1000 / shape.steps,
    paramCount,
    peakRssGb: (process.resourceUsage().maxRSS * 1024) / GB,
  };
}

const N = shape.B * shape.T;
const tokens = zipfStream(N * (shape.steps + 1) + 1, 12345);
const shortlist = tokens.filter((t) => t < adaptive.cutoffs[0]).length / tokens.length;
const clusterShare = adaptiveClusters(shape.V, adaptive).map(
  ([b, e]) => tokens.filter((t) => t >= b && t < e).length / tokens.length,
);
console.log(
  `adaptive softmax bench: UR-LSTM x${shape.layers}, V=${shape.V}, hidden=${shape.d} (tied embedding), B=${shape.B}, T=${shape.T}, ${shape.steps} timed steps after 1 warm-up, ${nativeThreads()} thread(s); ${machine()}`,
);
console.log(
  `Zipf(1) tokens: ${(shortlist * 100).toFixed(1)}% in the shortlist [0, ${adaptive.cutoffs[0]}), clusters ${clusterShare.map((s) => `${(s * 100).toFixed(1)}%`).join(', ')}; cutoffs ${adaptive.cutoffs.join(',')}, tail div ${adaptive.tailDiv} (projections ${adaptiveTailHidden(shape.d, adaptive).join(', ')})`,
);

/** Multiply-adds per training token, forward (backward about twice that): recurrence + output layer. */
function macsPerToken(withAdaptive: boolean): number {
  const recurrence = shape.layers * 2 * shape.d * 4 * shape.d;
  if (!withAdaptive) return recurrence + shape.d * shape.V;
  const h = adaptiveTailHidden(shape.d, adaptive);
  const head = shape.d * (adaptive.cutoffs[0] + adaptive.cutoffs.length);
  const tails = adaptiveClusters(shape.V, adaptive).reduce(
    (sum, [b, e], i) => sum + clusterShare[i] * (shape.d * h[i] + h[i] * (e - b)),
    0,
  );
  return recurrence + head + tails;
}

const rows: [string, Outcome][] = [];
for (const [name, withAdaptive] of [
  ['adaptive', true],
  ['full', false],
] as const) {
  rows.push([name, run(arch(withAdaptive), tokens)]);
  (globalThis as { gc?: () => void }).gc?.();
}
const full = (rows.find(([n]) => n === 'full') as [string, Outcome])[1];
for (const [name, o] of rows) {
  const bytes = o.paramCount * 4;
  const macs = macsPerToken(name === 'adaptive');
  const gflops = (6 * macs * N) / ((o.msPerStep - o.adamMs) / 1000) / 1e9;
  console.log(
    `${name.padEnd(9)} ${o.msPerStep.toFixed(0).padStart(7)} ms/step (Adam ${o.adamMs.toFixed(0)}; CPU ${o.cpuMsPerStep.toFixed(0)} ms/step, x${(full.cpuMsPerStep / o.cpuMsPerStep).toFixed(2)}) ${o.tokensPerSecond.toFixed(0).padStart(7)} tok/s  x${(o.tokensPerSecond / full.tokensPerSecond).toFixed(2)} of full; ${(macs / 1e6).toFixed(1)}M MACs/token forward, ${gflops.toFixed(1)} GFLOP/s outside Adam | ${o.paramCount.toLocaleString('en')} params: ${(bytes / GB).toFixed(2)} GB params + ${(bytes / GB).toFixed(2)} GB grads + ${((2 * bytes) / GB).toFixed(2)} GB Adam moments = ${((4 * bytes) / GB).toFixed(2)} GB; peak RSS so far ${o.peakRssGb.toFixed(2)} GB`,
  );
}
