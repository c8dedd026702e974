// What a task model is, whichever engine computes it (no tfjs here): its layers, its head, its
// tensors with their initial values from the seed (checkpoint names, the optimizer's order), the
// seeds of a training step's random draws, and the checkpoint's `model` section.
import {
  type CheckpointTensors,
  CLASSIFIER_TENSORS,
  glorotUniform,
  initLayerValues,
  layerLayout,
  layerTensorName,
  type ResolvedLayerConfig,
  stackLayerConfigs,
  TASK_HEAD_TENSORS,
  type TaskArchitecture,
  type TaskHead,
  taskTensorShapes,
} from '@urgate/contract';
import { deriveSeed } from '../seeds.js';
import { HEAD_HIDDEN, isPixelTask, type TaskRunConfig, zoneoutRates } from './config.js';

/** Seeds of the random draws of one training step (deriveSeed(seed, step, [layer,] purpose)). */
export const MASK_PURPOSE = { zoneoutC: 1, zoneoutH: 2, dropout: 3, head: 4 } as const;

export function taskHead(config: Pick<TaskRunConfig, 'task'>): TaskHead {
  if (config.task === 'copy') return 'copy';
  return isPixelTask(config.task) ? 'classifier' : 'regression';
}

/** The stacked layers of a run (one-line errors naming a bad layer setting). */
export function taskLayers(config: TaskRunConfig, inputSize: number): ResolvedLayerConfig[] {
  return stackLayerConfigs({
    core: config.core,
    mechanism: config.mechanism,
    inputSize,
    hiddenSize: config.hiddenSize,
    numLayers: config.numLayers,
    ...(config.downsize !== null ? { downsize: config.downsize } : {}),
    ...(config.tMax !== null ? { tMax: config.tMax } : {}),
  });
}

/** The model's architecture (@urgate/contract's TaskArchitecture: its tensor table). */
export function taskArchitecture(
  config: TaskRunConfig,
  layers: ResolvedLayerConfig[],
  outputSize: number,
): TaskArchitecture {
  return { layers, head: taskHead(config), headHidden: HEAD_HIDDEN, outputSize };
}

/**
 * The initial tensors in the table's order (taskTensorShapes): layer l from seed + l (every gate
 * bias but the candidate's set to gateBias when given), the head Glorot-uniform from a derived
 * seed, biases 0.
 */
export function initTaskTensors(
  config: TaskRunConfig,
  layers: ResolvedLayerConfig[],
  outputSize: number,
): CheckpointTensors {
  const values: CheckpointTensors = {};
  layers.forEach((cfg, l) => {
    const v = initLayerValues(cfg, config.seed + l);
    if (config.gateBias !== null)
      for (const block of layerLayout(cfg).blocks)
        if (block.name !== 'u') v.b.fill(config.gateBias, block.offset, block.offset + block.width);
    values[layerTensorName(l, 'W')] = { shape: [v.rows, v.cols], data: v.W };
    values[layerTensorName(l, 'b')] = { shape: [v.cols], data: v.b };
  });
  const d = config.hiddenSize;
  const seed = deriveSeed(config.seed, MASK_PURPOSE.head);
  if (taskHead(config) === 'classifier') {
    values[CLASSIFIER_TENSORS.W1] = {
      shape: [d, HEAD_HIDDEN],
      data: glorotUniform(d, HEAD_HIDDEN, seed),
    };
    values[CLASSIFIER_TENSORS.b1] = { shape: [HEAD_HIDDEN], data: new Float32Array(HEAD_HIDDEN) };
    values[CLASSIFIER_TENSORS.W2] = {
      shape: [HEAD_HIDDEN, outputSize],
      data: glorotUniform(HEAD_HIDDEN, outputSize, seed + 1),
    };
    values[CLASSIFIER_TENSORS.b2] = { shape: [outputSize], data: new Float32Array(outputSize) };
  } else {
    values[TASK_HEAD_TENSORS.W] = {
      shape: [d, outputSize],
      data: glorotUniform(d, outputSize, seed),
    };
    values[TASK_HEAD_TENSORS.b] = { shape: [outputSize], data: new Float32Array(outputSize) };
  }
  const table = taskTensorShapes(taskArchitecture(config, layers, outputSize));
  return Object.fromEntries(table.map((t) => [t.name, values[t.name]]));
}

/** Model section of the checkpoint metadata (LAYOUT.md): pixel tasks are `kind: "classifier"`. */
export function taskModelMeta(
  config: TaskRunConfig,
  layers: ResolvedLayerConfig[],
  outputSize: number,
): Record<string, unknown> {
  const first = layers[0];
  return {
    kind: isPixelTask(config.task) ? 'classifier' : 'task',
    task: config.task,
    core: first.core,
    mechanism: first.mechanism,
    numLayers: layers.length,
    inputSize: first.inputSize,
    hiddenSize: first.hiddenSize,
    downsize: first.downsize,
    tMax: first.tMax,
    fixedGateOffset: first.fixedGateOffset,
    numClasses: outputSize,
    zoneout: zoneoutRates(config.core, config.zoneout),
  };
}
