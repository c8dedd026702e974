// The language model as one native object (csrc/lm_model.h): parameters, gradients and Adam's
// moments in four arenas laid out by @urgate/contract's lmTensorShapes, a train step that fills the
// gradient arena, per-token scoring, and Adam with global-norm clipping over the arena. No tfjs:
// the recurrent state is plain Float32Arrays, and the arenas are views of the object's memory.
import { type LmArchitecture, lmLayerConfigs, lmTensorShapes } from '@urgate/contract';
import { type AdamOptions, type ArenaTensor, arenaLayout, type ModelArenas } from './arena.js';
import { type NativeLmObject, type NativeLmWindow, requireNative } from './native.js';

/** One window, time-major [T, B] (element t·B + b), as @urgate/wikitext's batches give it. */
export interface LmWindow {
  steps: number;
  batch: number;
  inputs: Int32Array;
  targets: Int32Array;
  /** 1 = zero that row's state before step t (an article starts there). */
  resets: Uint8Array;
}

/** One layer's recurrent state, [B, d] each (c for the LSTM only). */
export interface LmLayerState {
  h: Float32Array;
  c?: Float32Array;
}

/** Inverted dropout on the embeddings and the last layer's output, masks from these seeds. */
export interface LmDropout {
  rate: number;
  embeddingSeed: number;
  outputSeed: number;
  /**
   * The window is rows [offset, offset + batch) of a batch of `total` rows (one rank's share of
   * a global batch): its masks are those rows of the whole batch's masks.
   */
  rows?: { total: number; offset: number };
}

/** Master-gate downsize of an architecture (the layer default when unset). */
export function lmDownsize(arch: LmArchitecture): number {
  return lmLayerConfigs(arch)[0].downsize;
}

export class NativeLm implements ModelArenas {
  readonly arch: LmArchitecture;
  readonly tensors: readonly ArenaTensor[];
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  private readonly object: NativeLmObject;

  /** All four arenas zeroed: set the parameters (initialisation or a checkpoint) before training. */
  constructor(arch: LmArchitecture) {
    const addon = requireNative('NativeLm');
    this.arch = arch;
    const { tensors, size } = arenaLayout(lmTensorShapes(arch));
    this.tensors = tensors;
    this.object = new addon.LmModel(
      {
        core: arch.core,
        mechanism: arch.mechanism,
        numLayers: arch.numLayers,
        vocabSize: arch.vocabSize,
        embeddingSize: arch.embeddingSize,
        hiddenSize: arch.hiddenSize,
        downsize: lmDownsize(arch),
        layerNorm: arch.layerNorm,
        tiedEmbeddings: arch.tiedEmbeddings,
        adaptiveSoftmax: arch.adaptiveSoftmax ?? null,
      },
      tensors.map(({ name, size }) => ({ name, size })),
    );
    if (this.object.size !== size)
      throw new Error(
        `NativeLm: the native arena holds ${this.object.size} floats, the table ${size}`,
      );
    [this.params, this.grads, this.m, this.v] = [0, 1, 2, 3].map(
      (k) => new Float32Array(this.object.arenas[k] as ArrayBuffer),
    );
  }

  get adamSteps(): number {
    return this.object.adamSteps;
  }
  set adamSteps(steps: number) {
    this.object.adamSteps = steps;
  }

  /** A zero state for `batch` rows. */
  zeroState(batch: number): LmLayerState[] {
    const n = batch * this.arch.hiddenSize;
    const lstm = this.arch.core === 'lstm';
    return Array.from({ length: this.arch.numLayers }, () =>
      lstm ? { h: new Float32Array(n), c: new Float32Array(n) } : { h: new Float32Array(n) },
    );
  }

  /**
   * Mean cross-entropy of the window's targets given its inputs and the carried state; the
   * gradient arena receives every parameter's gradient. Returns the state after the window.
   */
  trainStep(
    window: LmWindow,
    state: readonly LmLayerState[],
    dropout: LmDropout | null,
  ): { loss: number; state: LmLayerState[] } {
    const r = this.object.trainStep(
      this.nativeWindow(window, state),
      dropout && dropout.rate > 0 ? dropout : null,
    );
    return { loss: r.loss, state: states(r.h, r.c) };
  }

  /** Natural-log NLL of every target of the window (no dropout) and the state after it. */
  score(
    window: LmWindow,
    state: readonly LmLayerState[],
  ): { nll: Float64Array; state: LmLayerState[] } {
    const r = this.object.score(this.nativeWindow(window, state));
    return { nll: r.nll, state: states(r.h, r.c) };
  }

  adamUpdate(options: AdamOptions): number {
    return this.object.adamUpdate(options);
  }

  private nativeWindow(window: LmWindow, state: readonly LmLayerState[]): NativeLmWindow {
    if (state.length !== this.arch.numLayers)
      throw new RangeError(
        `state: expected one state per layer (${this.arch.numLayers}), got ${state.length}`,
      );
    const lstm = this.arch.core === 'lstm';
    return {
      batch: window.batch,
      steps: window.steps,
      inputs: window.inputs,
      targets: window.targets,
      reset: window.resets.includes(1) ? Float32Array.from(window.resets) : null,
      h0: state.map((s) => s.h),
      c0: lstm ? state.map((s, l) => s.c ?? missingC(l)) : null,
    };
  }
}

function missingC(l: number): never {
  throw new TypeError(`state[${l}].c: expected the LSTM cell state`);
}

function states(h: Float32Array[], c: Float32Array[] | undefined): LmLayerState[] {
  return h.map((hl, l) => (c ? { h: hl, c: c[l] } : { h: hl }));
}
