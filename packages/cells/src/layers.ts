import * as tf from '@tensorflow/tfjs';
import {
  type Core,
  type LayerConfig,
  layerLayout,
  type Mechanism,
  parseMechanism,
  type ResolvedLayerConfig,
  resolveLayerConfig,
} from '@urgate/contract';
import { initLayerParams } from './init.js';
import { layerStep } from './step.js';
import type { LayerParams } from './types.js';

export interface GatedCellArgs {
  units: number;
  /** Gate mechanism (default 'UR-'); any spelling parseMechanism accepts. */
  mechanism?: Mechanism | string;
  downsize?: number;
  tMax?: number;
  fixedGateOffset?: boolean;
  /** Seed of the initial weights (default 0). */
  seed?: number;
  name?: string;
  trainable?: boolean;
}

type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;
type Kwargs = Record<string, unknown>;

/**
 * A gated cell as a tfjs-layers RNN cell: `tf.layers.rnn({cell: new GatedLSTMCell({units: 128})})`.
 * Weights follow LAYOUT.md (`W`, `b`, and the fixed `bOffset`), so getParams() can be
 * handed to runLayer or saved in a checkpoint unchanged.
 */
abstract class GatedCell extends tf.layers.Layer {
  abstract readonly core: Core;
  readonly units: number;
  readonly mechanism: Mechanism;
  readonly seed: number;
  private readonly options: Pick<LayerConfig, 'downsize' | 'tMax' | 'fixedGateOffset'>;
  private resolved?: ResolvedLayerConfig;
  // Declared so the cell satisfies tfjs' RNNCell type for tf.layers.rnn({cell}); the gated
  // cells have no dropout of their own (zoneout lives in runLayer's extras).
  dropoutMask!: tf.Tensor | tf.Tensor[];
  recurrentDropoutMask!: tf.Tensor | tf.Tensor[];
  private W?: LayerVariable;
  private b?: LayerVariable;
  private bOffset?: LayerVariable;

  constructor(args: GatedCellArgs) {
    super({ name: args.name, trainable: args.trainable });
    if (!Number.isInteger(args?.units) || args.units <= 0)
      throw new Error(`units: expected a positive integer, got ${JSON.stringify(args?.units)}`);
    this.units = args.units;
    this.mechanism = parseMechanism(args.mechanism ?? 'UR-');
    this.seed = args.seed ?? 0;
    this.options = {
      downsize: args.downsize,
      tMax: args.tMax,
      fixedGateOffset: args.fixedGateOffset,
    };
  }

  abstract get stateSize(): number | number[];

  /** The layer config this cell computes, once its input size is known. */
  layerConfig(inputSize: number): ResolvedLayerConfig {
    return resolveLayerConfig({
      core: this.core,
      mechanism: this.mechanism,
      inputSize,
      hiddenSize: this.units,
      ...this.options,
    });
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const inputSize = shape[shape.length - 1];
    if (inputSize === null || inputSize === undefined)
      throw new Error(`${this.name}: the input size (last axis) must be known to build the cell`);
    const cfg = this.layerConfig(inputSize);
    const init = initLayerParams(cfg, this.seed);
    const { cols } = layerLayout(cfg);
    this.W = this.addWeight(
      'W',
      [cfg.inputSize + cfg.hiddenSize, cols],
      'float32',
      tf.initializers.zeros(),
    );
    this.b = this.addWeight('b', [cols], 'float32', tf.initializers.zeros());
    this.W.write(init.W);
    this.b.write(init.b);
    if (init.bOffset !== undefined) {
      this.bOffset = this.addWeight(
        'bOffset',
        [cols],
        'float32',
        tf.initializers.zeros(),
        undefined,
        false,
      );
      this.bOffset.write(init.bOffset);
    }
    tf.dispose([init.W, init.b, init.bOffset].filter((t) => t !== undefined) as tf.Tensor[]);
    this.resolved = cfg;
    this.built = true;
  }

  /** Current weights as LayerParams (live variable reads). */
  getParams(): LayerParams {
    if (this.W === undefined || this.b === undefined)
      throw new Error(`${this.name}: the cell is not built yet (apply it to an input first)`);
    const params: LayerParams = {
      W: this.W.read() as tf.Tensor2D,
      b: this.b.read() as tf.Tensor1D,
    };
    if (this.bOffset !== undefined) params.bOffset = this.bOffset.read() as tf.Tensor1D;
    return params;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor[] {
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const [x, h, c] = list as tf.Tensor2D[];
      const cfg = this.resolved as ResolvedLayerConfig;
      const next = layerStep(cfg, this.getParams(), x, this.core === 'lstm' ? { h, c } : { h });
      return this.core === 'lstm' ? [next.h, next.h, next.c as tf.Tensor2D] : [next.h, next.h];
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], this.units];
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      units: this.units,
      mechanism: this.mechanism,
      seed: this.seed,
    };
    for (const [key, value] of Object.entries(this.options))
      if (value !== undefined) config[key] = value;
    return { ...super.getConfig(), ...config };
  }
}

export class GatedLSTMCell extends GatedCell {
  static className = 'GatedLSTMCell';
  readonly core: Core = 'lstm';
  get stateSize(): number[] {
    return [this.units, this.units];
  }
}

export class GatedGRUCell extends GatedCell {
  static className = 'GatedGRUCell';
  readonly core: Core = 'gru';
  get stateSize(): number {
    return this.units;
  }
}

tf.serialization.registerClass(GatedLSTMCell);
tf.serialization.registerClass(GatedGRUCell);
