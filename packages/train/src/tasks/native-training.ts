// The native engine of the task trainer: @urgate/kernels' NativeTaskModel, its masks drawn
// natively from the same seeds and stream as the reference engine's.
import type { ResolvedLayerConfig } from '@urgate/contract';
import { arenaView, bernoulliMask, NativeTaskModel, type TaskMasks } from '@urgate/kernels/native';
import { deriveSeed } from '../seeds.js';
import { HEAD_DROPOUT, HEAD_HIDDEN, type TaskRunConfig, zoneoutRates } from './config.js';
import { batchRows, type TaskBatch } from './data.js';
import {
  initTaskTensors,
  MASK_PURPOSE,
  taskArchitecture,
  taskLayers,
  taskModelMeta,
} from './params.js';
import type { TaskRows, TaskScore, TaskTraining } from './training.js';

export class NativeTaskTraining implements TaskTraining {
  readonly engine = 'native';
  readonly model: NativeTaskModel;
  readonly meta: Record<string, unknown>;
  private readonly config: TaskRunConfig;
  private readonly layers: ResolvedLayerConfig[];
  private readonly zoneout: { c: number; h: number } | null;

  constructor(config: TaskRunConfig, inputSize: number, outputSize: number) {
    this.config = config;
    this.layers = taskLayers(config, inputSize);
    this.zoneout = zoneoutRates(config.core, config.zoneout);
    this.meta = taskModelMeta(config, this.layers, outputSize);
    this.model = new NativeTaskModel(taskArchitecture(config, this.layers, outputSize));
    for (const [name, t] of Object.entries(initTaskTensors(config, this.layers, outputSize)))
      arenaView(this.model, name).set(t.data);
  }

  /** Training: drawn from (seed, step, layer, purpose) over the global batch; evaluation: expectations. */
  private masks(batch: TaskBatch, training: { step: number; rows?: TaskRows } | null): TaskMasks {
    const z = this.zoneout;
    const [T, B] = [batch.steps, batch.batchSize];
    const total = training?.rows?.total ?? B;
    const zoneout = (rate: number, l: number, purpose: number, d: number) => {
      if (z === null || rate === 0) return null;
      if (training === null) return new Float32Array(T * B * d).fill(rate);
      const seed = deriveSeed(this.config.seed, training.step, l, purpose);
      const whole = bernoulliMask(rate, seed, T * total * d, 1, 0);
      const rows = training.rows;
      return rows ? batchRows(whole, total, d, rows.lo, rows.hi) : whole;
    };
    let dropout: Float32Array | null = null;
    if (training !== null && z !== null) {
      const seed = deriveSeed(this.config.seed, training.step, MASK_PURPOSE.dropout);
      const keep = Math.fround(1 / (1 - HEAD_DROPOUT));
      const whole = bernoulliMask(HEAD_DROPOUT, seed, total * HEAD_HIDDEN, 0, keep);
      const rows = training.rows;
      dropout = rows ? batchRows(whole, total, HEAD_HIDDEN, rows.lo, rows.hi) : whole;
    }
    return {
      zoneoutC: this.layers.map((cfg, l) =>
        cfg.core === 'lstm' && z ? zoneout(z.c, l, MASK_PURPOSE.zoneoutC, cfg.hiddenSize) : null,
      ),
      zoneoutH: this.layers.map((cfg, l) =>
        z ? zoneout(z.h, l, MASK_PURPOSE.zoneoutH, cfg.hiddenSize) : null,
      ),
      dropout,
    };
  }

  gradients(batch: TaskBatch, step: number, rows?: TaskRows): number {
    return this.model.trainStep(batch, this.masks(batch, { step, rows }));
  }

  score(batch: TaskBatch): TaskScore {
    return this.model.evaluate(batch, this.masks(batch, null));
  }

  meanForgetPerUnit(batch: TaskBatch): Float32Array {
    return this.model.meanForgetPerUnit(batch, this.masks(batch, null));
  }

  dispose(): void {}
}
