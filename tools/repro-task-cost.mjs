// Measures ms per training iteration (forward, BPTT, Adam with clipping) of the paper-scale task
// settings with the trainer's own model and loss code, on random data of the right shape.
// Usage: node tools/repro-task-cost.mjs [iterations=3]   (after `npm run build`)
import * as tf from '@tensorflow/tfjs';
import { FusedAdam, useNativeKernels } from '@urgate/kernels';
import { createTaskModel, resolveTaskRunConfig, taskLoss } from '@urgate/train';

const iterations = Number(process.argv[2] ?? 3);
useNativeKernels();
const settings = [
  // name, config input, input size, outputs, steps T, paper iterations
  [
    'copy N=500 (paper)',
    { task: 'copy', length: 500, hiddenSize: 256, batchSize: 64 },
    10,
    10,
    520,
    100_000,
  ],
  [
    'adding N=2000 (paper)',
    { task: 'adding', length: 2000, hiddenSize: 256, batchSize: 64 },
    2,
    1,
    2000,
    20_000,
  ],
  [
    'pMNIST (paper: 150 epochs x 1100)',
    { task: 'pmnist', dataDir: '-', hiddenSize: 512, batchSize: 50 },
    1,
    10,
    784,
    150 * 1100,
  ],
  [
    'sCIFAR (paper: 100 epochs x 900)',
    { task: 'scifar', dataDir: '-', hiddenSize: 512, batchSize: 50 },
    3,
    10,
    1024,
    100 * 900,
  ],
];
for (const [name, input, n, k, T, paperIterations] of settings) {
  const config = resolveTaskRunConfig({ ...input, mechanism: 'UR-' });
  const model = createTaskModel(config, n, k);
  const vars = Object.values(model.params);
  const adam = new FusedAdam(vars, { lr: 1e-3, clipNorm: 1 });
  const B = config.batchSize;
  const batch = {
    steps: T,
    batchSize: B,
    inputSize: n,
    inputs: Float32Array.from({ length: T * B * n }, () => Math.random()),
    targets:
      k === 1
        ? Float32Array.from({ length: B }, () => Math.random())
        : Int32Array.from(
            { length: config.task === 'copy' ? 10 * B : B },
            () => 1 + Math.floor(Math.random() * 8),
          ),
    targetStart: T - 10,
  };
  const times = [];
  for (let it = 0; it <= iterations; it++) {
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(
      () => taskLoss(model, batch, { training: true, step: it }).loss,
      vars,
    );
    value.dataSync();
    adam.step(vars.map((v) => grads[v.name]));
    tf.dispose([value, grads]);
    if (it > 0) times.push(performance.now() - t0); // the first iteration warms up
  }
  tf.dispose(vars);
  const ms = times.reduce((a, b) => a + b, 0) / times.length;
  const hours = (ms * paperIterations) / 3_600_000;
  console.log(
    JSON.stringify({
      name,
      T,
      batch: B,
      hidden: config.hiddenSize,
      msPerIteration: Math.round(ms),
      paperIterations,
      hoursPerRun: Number(hours.toFixed(1)),
    }),
  );
}
