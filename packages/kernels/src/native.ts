// Loads the compiled addon (build/Release/urgate_kernels.node, made by
// `npm run build:native`). Without it the package still loads: callers see
// nativeAvailable = false and fall back to the tfjs reference. URGATE_NO_NATIVE=1 in the
// environment leaves a built addon unloaded, as on a machine where it is not built.
import { createRequire } from 'node:module';

export interface NativeLayerShape {
  core: 'lstm' | 'gru';
  mechanism: string;
  inputSize: number;
  hiddenSize: number;
  downsize: number;
  batch: number;
  steps: number;
}

/** Opaque handle to what a forward pass stored for its backward pass. */
export interface NativeTape {
  readonly __tape: unique symbol;
}

export interface NativeForwardResult {
  /** outputs [T, B, d] followed, for the LSTM, by c_T [B, d]; outputs and c are views into it. */
  packed: Float32Array;
  outputs: Float32Array;
  h: Float32Array;
  c?: Float32Array;
  tape: NativeTape;
}

export interface NativeBackwardResult {
  dxs: Float32Array;
  dh0: Float32Array;
  dc0?: Float32Array;
  dW: Float32Array;
  db: Float32Array;
}

export interface NativeAdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  clipNorm?: number;
  step: number;
}

/** Column offsets of a layer's blocks in the kernels (csrc/layout.cc); -1 where absent. */
export interface NativeLayout {
  family: string;
  cols: number;
  masters: number;
  f: number;
  i: number;
  r: number;
  s: number;
  u: number;
  o: number;
  mf: number;
  mi: number;
}

/** The adaptive softmax's settings (@urgate/contract's AdaptiveSoftmax). */
export interface NativeAdaptiveSettings {
  cutoffs: number[];
  tailDiv: number;
}

/** The adaptive softmax over `rows` hidden rows of `inputSize` (napi/adaptive_softmax.cc). */
export interface NativeAdaptiveShape extends NativeAdaptiveSettings {
  vocabSize: number;
  inputSize: number;
  rows: number;
  /** The shortlist is [c0, d] (an embedding's rows) instead of [d, c0]. */
  tied: boolean;
}

/** Its tensors (LAYOUT.md "Adaptive softmax"): shortlist [d, c0], clusters [d, n], headB [c0 + n], proj[i] [d, h_i], out[i] [h_i, size_i]. */
export interface NativeAdaptiveParams {
  shortlist: Float32Array;
  clusters: Float32Array;
  headB: Float32Array;
  proj: Float32Array[];
  out: Float32Array[];
}

/** A language model's architecture as the native object takes it (napi/lm_model.cc). */
export interface NativeLmShape {
  core: 'lstm' | 'gru';
  mechanism: string;
  numLayers: number;
  vocabSize: number;
  embeddingSize: number;
  hiddenSize: number;
  downsize: number;
  layerNorm: boolean;
  tiedEmbeddings: boolean;
  /** Absent or null: a full softmax. */
  adaptiveSoftmax?: NativeAdaptiveSettings | null;
}

/** One window, time-major (row t·B + b); h0/c0 one [B, d] per layer. */
export interface NativeLmWindow {
  batch: number;
  steps: number;
  inputs: Int32Array;
  targets: Int32Array;
  reset: Float32Array | null;
  h0: Float32Array[];
  c0: Float32Array[] | null;
}

export interface NativeLmDropout {
  rate: number;
  embeddingSeed: number;
  outputSeed: number;
  rows?: { total: number; offset: number };
}

/** The native LM object (csrc/lm_model.h): four arenas (parameters, gradients, Adam m, v), `size` floats each. */
export interface NativeLmObject {
  readonly arenas: [ArrayBuffer, ArrayBuffer, ArrayBuffer, ArrayBuffer];
  readonly size: number;
  adamSteps: number;
  trainStep(
    window: NativeLmWindow,
    dropout: NativeLmDropout | null,
  ): { loss: number; h: Float32Array[]; c?: Float32Array[] };
  score(window: NativeLmWindow): { nll: Float64Array; h: Float32Array[]; c?: Float32Array[] };
  adamUpdate(options: Omit<NativeAdamOptions, 'step'>): number;
}

/** The functions napi/addon.cc exports. */
export interface NativeAddon {
  layout(spec: NativeLayerShape): NativeLayout;
  layerForward(
    spec: NativeLayerShape,
    W: Float32Array,
    bias: Float32Array,
    xs: Float32Array,
    h0: Float32Array,
    c0: Float32Array | null,
    reset: Float32Array | null,
    zoneoutC: Float32Array | null,
    zoneoutH: Float32Array | null,
  ): NativeForwardResult;
  layerBackward(
    tape: NativeTape,
    W: Float32Array,
    xs: Float32Array,
    dOutputs: Float32Array,
    dh: Float32Array | null,
    dc: Float32Array | null,
  ): NativeBackwardResult;
  /** Frees a tape no backward pass will use (a used one is already empty). */
  releaseTape(tape: NativeTape): void;
  softmaxCrossEntropy(
    logits: Float32Array,
    targets: Int32Array,
    numClasses: number,
  ): { loss: number; dLogits: Float32Array };
  adamStep(
    params: Float32Array[],
    grads: Float32Array[],
    m: Float32Array[],
    v: Float32Array[],
    options: NativeAdamOptions,
  ): number;
  matmul(
    a: Float32Array,
    b: Float32Array,
    batchA: number,
    batchB: number,
    M: number,
    N: number,
    K: number,
    transposeA: boolean,
    transposeB: boolean,
  ): Float32Array;
  sgemmGflops(M: number, N: number, K: number, reps: number): number;
  LmModel: new (spec: NativeLmShape, tensors: { name: string; size: number }[]) => NativeLmObject;
  adaptiveSoftmaxTrain(
    spec: NativeAdaptiveShape,
    params: NativeAdaptiveParams,
    x: Float32Array,
    targets: Int32Array,
    scale: number,
  ): { loss: number; dx: Float32Array; grads: NativeAdaptiveParams };
  adaptiveSoftmaxScore(
    spec: NativeAdaptiveShape,
    params: NativeAdaptiveParams,
    x: Float32Array,
    targets: Int32Array,
  ): Float64Array;
  adaptiveSoftmaxLogProb(
    spec: NativeAdaptiveShape,
    params: NativeAdaptiveParams,
    x: Float32Array,
  ): Float32Array;
  bernoulliMask(rate: number, seed: number, n: number, hit: number, miss: number): Float32Array;
  denseForward(
    x: Float32Array,
    W: Float32Array,
    b: Float32Array,
    M: number,
    K: number,
    N: number,
    relu: boolean,
  ): Float32Array;
  denseBackward(
    x: Float32Array,
    W: Float32Array,
    y: Float32Array,
    dy: Float32Array,
    M: number,
    K: number,
    N: number,
    relu: boolean,
  ): { dx: Float32Array; dW: Float32Array; db: Float32Array };
  numThreads(): number;
  setNumThreads(threads: number): void;
  /** The instruction set the vectorised loops run with on this CPU (csrc/simd.h). */
  vectorPath: string;
}

function load(): { addon?: NativeAddon; error?: string } {
  if (process.env.URGATE_NO_NATIVE === '1')
    return {
      error:
        'not loaded (URGATE_NO_NATIVE=1); unset it, or build it with `npm run build:native -w @urgate/kernels`',
    };
  const require = createRequire(import.meta.url);
  // src/ and dist/ both sit one level below the package root.
  const path = new URL('../build/Release/urgate_kernels.node', import.meta.url).pathname;
  try {
    return { addon: require(path) as NativeAddon };
  } catch (e) {
    return {
      error: `cannot load ${path} (${(e as Error).message.split('\n')[0]}); build it with \`npm run build:native -w @urgate/kernels\``,
    };
  }
}

const loaded = load();

/** The addon, or undefined when it is not built. */
export const native: NativeAddon | undefined = loaded.addon;
export const nativeAvailable: boolean = loaded.addon !== undefined;
/** Why the addon could not be loaded (undefined when it loaded). */
export const nativeLoadError: string | undefined = loaded.error;

/** The addon, or a clear error for callers that cannot work without it. */
export function requireNative(what: string): NativeAddon {
  if (native === undefined)
    throw new Error(`${what}: the native kernels are not available: ${nativeLoadError}`);
  return native;
}
