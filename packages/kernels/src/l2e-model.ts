// The Learning-to-Execute encoder-decoder as one native object: parameters, gradients and Adam's
// moments in four arenas laid out from @urgate/contract's l2eTensorShapes (checkpoint names,
// optimizer order), a train step that fills the gradient arena and evaluation. The core is the
// stacked layers (the addon's layer kernels) or the Relational Memory Core (its rmc kernels); the
// head a dense layer and softmax cross-entropy over the target rows. No tfjs.
import {
  initialMemoryValues,
  L2E_TENSORS,
  type L2eArchitecture,
  l2eConstantShapes,
  l2eCoreWidth,
  l2eTensorShapes,
  type ResolvedRmcConfig,
  rmcParamLayout,
} from '@urgate/contract';
import type { NativeAddon } from './native.js';
import { type RmcAddon, rmcKernelShape } from './rmc-native.js';
import { NativeStackModel } from './stack-model.js';

/** One minibatch of programs, time-major (row t·B + b), as @urgate/train's l2e batches give it. */
export interface L2eModelBatch {
  steps: number;
  batchSize: number;
  vocabSize: number;
  /** [steps, B] character ids the core reads. */
  stream: Int32Array;
  /** Stream rows whose output predicts a target character. */
  targetRows: Int32Array;
  /** The target character ids, in targetRows' order. */
  targets: Int32Array;
}

/** The head's pass over the target rows: mean loss (float32, as the tfjs scalar), logits, backward. */
interface HeadPass {
  loss: number;
  logits: Float32Array;
  /** Writes output.W's and output.b's gradients; returns dLoss/d(rows) [N, width]. */
  backward: () => Float32Array;
}

/** The core's forward pass: outputs [T, B, width], then backward (into the arena) or release. */
interface CorePass {
  outputs: Float32Array;
  backward(dOutputs: Float32Array): void;
  release(): void;
}

// The RMC kernel takes one gate bias: the sum of these two trainable biases and the fixed offset.
const GATE_BIASES = ['gate.memory.b', 'gate.input.b'] as const;
const GATE_OFFSET = 'gate.offset';

export class NativeL2eModel extends NativeStackModel {
  readonly arch: L2eArchitecture;
  /** The untrained tensors (l2eConstantShapes: the RMC's gate offsets) by name. */
  readonly constants: Readonly<Record<string, Float32Array>>;
  /** RMC: the kernel's weights in its flat order as arena tensor names (null: the gate bias). */
  private readonly rmcWeightNames: (string | null)[];

  /**
   * All four arenas zeroed: set the parameters (initialisation or a checkpoint) before training.
   * `constants`: every tensor of l2eConstantShapes(arch), of its size.
   */
  constructor(arch: L2eArchitecture, constants: Record<string, Float32Array> = {}) {
    super(l2eTensorShapes(arch), 'NativeL2eModel');
    this.arch = arch;
    for (const { name, shape } of l2eConstantShapes(arch)) {
      const size = shape.reduce((a, b) => a * b, 1);
      if (!(constants[name] instanceof Float32Array) || constants[name].length !== size)
        throw new RangeError(`constants.${name}: expected a Float32Array of ${size} values`);
    }
    this.constants = constants;
    this.rmcWeightNames = arch.rmc ? rmcWeightNames(arch.rmc) : [];
  }

  /** The loss of the batch; every gradient of the arena overwritten. */
  trainStep(batch: L2eModelBatch): number {
    const { core, head } = this.forward(batch);
    const width = l2eCoreWidth(this.arch);
    const dRows = head.backward();
    // the target rows' gradients scattered back into the core's outputs
    const dOutputs = new Float32Array(batch.steps * batch.batchSize * width);
    batch.targetRows.forEach((row, k) => {
      for (let j = 0; j < width; j++) dOutputs[row * width + j] += dRows[k * width + j];
    });
    core.backward(dOutputs);
    return head.loss;
  }

  /** Mean loss and the logits [N, V] of the batch's N target characters (no gradients). */
  evaluate(batch: L2eModelBatch): { loss: number; logits: Float32Array } {
    const { core, head } = this.forward(batch);
    core.release();
    return { loss: head.loss, logits: head.logits };
  }

  private forward(batch: L2eModelBatch): { core: CorePass; head: HeadPass } {
    const [T, B, V] = [batch.steps, batch.batchSize, this.arch.vocabSize];
    if (batch.vocabSize !== V)
      throw new RangeError(`batch.vocabSize: expected ${V} (the model's), got ${batch.vocabSize}`);
    const xs = new Float32Array(T * B * V);
    batch.stream.forEach((id, r) => {
      xs[r * V + id] = 1;
    });
    const core = this.arch.rmc ? this.rmcCore(this.arch.rmc, xs, B, T) : this.stackCore(xs, B, T);
    const width = l2eCoreWidth(this.arch);
    const rows = new Float32Array(batch.targetRows.length * width);
    batch.targetRows.forEach((row, k) => {
      rows.set(core.outputs.subarray(row * width, (row + 1) * width), k * width);
    });
    const N = batch.targetRows.length;
    const names = { W: L2E_TENSORS.outputW, b: L2E_TENSORS.outputB };
    const out = this.dense(names, rows, N, width, V, false);
    const { loss, dLogits } = this.addon.softmaxCrossEntropy(out.y, batch.targets, V);
    const head = { loss: Math.fround(loss), logits: out.y, backward: () => out.backward(dLogits) };
    return { core, head };
  }

  private stackCore(xs: Float32Array, B: number, T: number): CorePass {
    const passes = this.stackForward(this.arch.layers, xs, B, T, null);
    return {
      outputs: passes[passes.length - 1].outputs,
      backward: (dOutputs) => {
        this.stackBackward(passes, dOutputs);
      },
      release: () => this.releasePasses(passes),
    };
  }

  private rmcCore(rmc: ResolvedRmcConfig, xs: Float32Array, B: number, T: number): CorePass {
    const addon = this.addon as NativeAddon & RmcAddon;
    const weights = this.rmcWeightNames.map((name) => (name ? this.view(name) : this.gateBias()));
    const spec = { ...rmcKernelShape(rmc), batch: B, steps: T };
    const f = addon.rmcForward(spec, weights, xs, initialMemoryValues(rmc, B));
    return {
      outputs: f.outputs,
      backward: (dOutputs) => {
        const { grads } = addon.rmcBackward(f.tape, weights, xs, dOutputs);
        this.rmcWeightNames.forEach((name, k) => {
          for (const to of name ? [name] : GATE_BIASES) this.view(to, 'grads').set(grads[k]);
        });
      },
      release: () => addon.rmcReleaseTape(f.tape),
    };
  }

  /** (gate.memory.b + gate.input.b) + gate.offset in float32, the reference's order of adds. */
  private gateBias(): Float32Array {
    const [memory, input] = GATE_BIASES.map((name) => this.view(name));
    const offset = this.constants[GATE_OFFSET];
    const bias = new Float32Array(offset.length);
    for (let k = 0; k < bias.length; k++) {
      bias[k] = memory[k] + input[k];
      bias[k] += offset[k];
    }
    return bias;
  }
}

/**
 * The kernel's flat weight order (csrc/rmc.h RmcParamSizes) is rmcParamLayout's order of the
 * trainable tensors with the two gate biases folded into one bias after the gate weights.
 */
function rmcWeightNames(rmc: ResolvedRmcConfig): (string | null)[] {
  const names: (string | null)[] = rmcParamLayout(rmc)
    .filter((spec) => spec.trainable && !(GATE_BIASES as readonly string[]).includes(spec.name))
    .map((spec) => spec.name);
  return rmc.gateStyle === 'none' ? names : [...names, null];
}
