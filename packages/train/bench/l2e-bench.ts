// Learning-to-Execute training steps per second, in one run: the native engine (NativeL2eModel:
// the stacked layers or the RMC kernels on one arena, no tfjs) against the reference engine (the
// tfjs model under autodiff) on the same batches, for a UR-LSTM and a UR-RMC. A step is the
// trainer's: the loss and gradients of a batch of generated programs, then Adam with clip 1 over
// the arenas. Run `flock /tmp/urgate-bench.lock npm run bench:l2e -w @urgate/train`.
import { loadavg } from 'node:os';
import { nativeAvailable } from '@urgate/kernels/native';
import {
  createL2eTraining,
  type L2eRunInput,
  openL2eData,
  resolveL2eRunConfig,
} from '@urgate/train';

interface Shape {
  name: string;
  input: L2eRunInput;
  /** Steps timed on each engine (the reference is two orders of magnitude slower). */
  steps: number;
  referenceSteps: number;
}
const level = { grammar: 'deepmind', length: 4, nesting: 2, batchSize: 32 } as const;
const SHAPES: Shape[] = [
  { name: 'UR-LSTM H=128', input: { ...level, hiddenSize: 128 }, steps: 100, referenceSteps: 3 },
  {
    name: 'UR-LSTM H=256 x2',
    input: { ...level, hiddenSize: 256, numLayers: 2 },
    steps: 20,
    referenceSteps: 2,
  },
  {
    name: 'UR-RMC 2 slots x 2 heads x 32',
    input: { ...level, core: 'rmc', memSlots: 2, numHeads: 2, headSize: 32 },
    steps: 100,
    referenceSteps: 3,
  },
];

async function stepsPerSecond(input: L2eRunInput, engine: 'native' | 'reference', steps: number) {
  const config = resolveL2eRunConfig({ ...input, engine });
  const data = openL2eData(config);
  const training = await createL2eTraining(config, data.alphabet.vocabulary.length);
  const step = (k: number) => {
    training.gradients(data.trainBatch(k));
    training.model.adamUpdate({ lr: config.lr, clipNorm: config.clip });
  };
  step(0); // warm-up: the first step allocates
  const started = performance.now();
  for (let k = 1; k <= steps; k++) step(k);
  const seconds = (performance.now() - started) / 1000;
  training.dispose();
  return steps / seconds;
}

if (!nativeAvailable) throw new Error('the l2e bench needs the native addon: run `npm run build`');
console.log(
  `l2e training steps/s (DeepMind grammar, length ${level.length}, nesting ${level.nesting}, batch ${level.batchSize}; load ${loadavg()[0].toFixed(2)})`,
);
for (const s of SHAPES) {
  const native = await stepsPerSecond(s.input, 'native', s.steps);
  const reference = await stepsPerSecond(s.input, 'reference', s.referenceSteps);
  console.log(
    `  ${s.name.padEnd(30)} native ${native.toFixed(1).padStart(6)}  reference ${reference.toFixed(2).padStart(5)}  ${(native / reference).toFixed(0)}×`,
  );
}
console.log(`load after: ${loadavg()[0].toFixed(2)}`);
