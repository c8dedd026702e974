// What the native model objects over stacked gated layers share (the task models, the l2e
// encoder-decoder): their arenas (ParamArenas, laid out from a contract table), the layer stack
// run forward and back through the addon's layer kernels on views of the parameter arena, and
// the heads' dense layers. No tfjs.
import { layerTensorName, type ResolvedLayerConfig, type TensorShape } from '@urgate/contract';
import { type ArenaKind, arenaView, ParamArenas } from './arena.js';
import { type NativeAddon, type NativeTape, requireNative } from './native.js';

/** One layer's forward pass over a sequence: its inputs and outputs [T, B, ·] and its tape. */
export interface LayerPass {
  xs: Float32Array;
  outputs: Float32Array;
  tape: NativeTape;
}

/** Per layer [T, B, d] zoneout keep-masks (null: none). */
export interface StackMasks {
  zoneoutC: (Float32Array | null)[];
  zoneoutH: (Float32Array | null)[];
}

export class NativeStackModel extends ParamArenas {
  protected readonly addon: NativeAddon;

  /** `what` names the model in the error thrown where the addon is not built. */
  constructor(table: readonly TensorShape[], what: string) {
    super(table);
    this.addon = requireNative(what);
  }

  protected view(name: string, kind: ArenaKind = 'params'): Float32Array {
    return arenaView(this, name, kind);
  }

  /** Layers [0, depth) over xs [T, B, inputSize] from the zero state. */
  protected stackForward(
    layers: readonly ResolvedLayerConfig[],
    xs: Float32Array,
    batch: number,
    steps: number,
    masks: StackMasks | null,
    depth = layers.length,
  ): LayerPass[] {
    const passes: LayerPass[] = [];
    layers.slice(0, depth).forEach((cfg, l) => {
      const lstm = cfg.core === 'lstm';
      const d = cfg.hiddenSize;
      const f = this.addon.layerForward(
        {
          core: cfg.core,
          mechanism: cfg.mechanism,
          inputSize: cfg.inputSize,
          hiddenSize: d,
          downsize: cfg.downsize,
          batch,
          steps,
        },
        this.view(layerTensorName(l, 'W')),
        this.view(layerTensorName(l, 'b')),
        xs,
        new Float32Array(batch * d),
        lstm ? new Float32Array(batch * d) : null,
        null,
        lstm ? (masks?.zoneoutC[l] ?? null) : null,
        masks?.zoneoutH[l] ?? null,
      );
      passes.push({ xs, outputs: f.outputs, tape: f.tape });
      xs = f.outputs;
    });
    return passes;
  }

  /** BPTT through the passes from dLoss/d(last outputs): dW, db into the gradient arena; returns dxs. */
  protected stackBackward(passes: LayerPass[], dOutputs: Float32Array): Float32Array {
    let dOut = dOutputs;
    for (let l = passes.length - 1; l >= 0; l--) {
      const g = this.addon.layerBackward(
        passes[l].tape,
        this.view(layerTensorName(l, 'W')),
        passes[l].xs,
        dOut,
        null,
        null,
      );
      this.view(layerTensorName(l, 'W'), 'grads').set(g.dW);
      this.view(layerTensorName(l, 'b'), 'grads').set(g.db);
      dOut = g.dxs;
    }
    return dOut;
  }

  /** Frees the tapes of passes no backward pass will use. */
  protected releasePasses(passes: LayerPass[]): void {
    for (const pass of passes) this.addon.releaseTape(pass.tape);
  }

  /**
   * A dense layer over `rows` rows of `x` ([rows, inSize] -> [rows, outSize], ReLU when `relu`),
   * W and b by tensor name: its output, and its backward, which writes the gradients of its W and
   * b and returns dx.
   */
  protected dense(
    names: { W: string; b: string },
    x: Float32Array,
    rows: number,
    inSize: number,
    outSize: number,
    relu: boolean,
  ): { y: Float32Array; backward: (dy: Float32Array) => Float32Array } {
    const a = this.addon;
    const W = this.view(names.W);
    const y = a.denseForward(x, W, this.view(names.b), rows, inSize, outSize, relu);
    return {
      y,
      backward: (dy) => {
        const g = a.denseBackward(x, W, y, dy, rows, inSize, outSize, relu);
        this.view(names.W, 'grads').set(g.dW);
        this.view(names.b, 'grads').set(g.db);
        return g.dx;
      },
    };
  }
}
