// Measures ms per training iteration (forward, BPTT, Adam with clipping) of the paper-scale
// program-evaluation settings (appendix E.3 after Santoro et al. 2018: DeepMind grammar,
// program task, length 9, nesting 4, mix curriculum, batch 128) with the trainer's own data,
// model and loss code, and what a run of the paper's iteration count costs here.
// Usage: node tools/repro-l2e-cost.mjs [iterations=2]   (after `npm run build`)
import * as tf from '@tensorflow/tfjs';
import { FusedAdam, useNativeKernels } from '@urgate/kernels';
import { createL2eModel, l2eLoss, openL2eData, resolveL2eRunConfig } from '@urgate/train';

const iterations = Number(process.argv[2] ?? 2);
useNativeKernels();
const paper = { programTask: 'all', length: 9, nesting: 4, curriculum: 'mix', batchSize: 128 };
const settings = [
  // name, config input, paper iterations
  ['UR-LSTM 1024', { core: 'lstm', hiddenSize: 1024 }, 500_000],
  ['UR-LSTM 2048', { core: 'lstm', hiddenSize: 2048 }, 500_000],
  [
    'UR-RMC 4 slots x 4 heads x 128 (slot 512)',
    { core: 'rmc', memSlots: 4, numHeads: 4, headSize: 128 },
    200_000,
  ],
];
for (const [name, input, paperIterations] of settings) {
  const config = resolveL2eRunConfig({ ...paper, ...input, mechanism: 'UR-' });
  const data = openL2eData(config);
  const model = createL2eModel(config, data.alphabet.vocabulary.length);
  const vars = Object.values(model.params);
  const adam = new FusedAdam(vars, { lr: config.lr, clipNorm: config.clip });
  const times = [];
  let steps = 0;
  for (let k = 0; k <= iterations; k++) {
    const batch = data.trainBatch(k);
    steps += batch.steps;
    const started = performance.now();
    const { value, grads } = tf.variableGrads(() => l2eLoss(model, batch).loss, vars);
    value.dataSync();
    adam.step(vars.map((v) => grads[v.name]));
    tf.dispose([value, grads]);
    if (k > 0) times.push(performance.now() - started); // the first call warms up
  }
  const ms = times.reduce((a, b) => a + b, 0) / times.length;
  const hours = (ms * paperIterations) / 3.6e6;
  console.log(
    `${name}: ${ms.toFixed(0)} ms/iteration (B=128, mean stream ${(steps / (iterations + 1)).toFixed(0)} steps), ` +
      `${paperIterations} iterations = ${hours.toFixed(0)} h = ${(hours / 24).toFixed(1)} days per run`,
  );
  tf.dispose([...vars, ...Object.values(model.constants)]);
}
