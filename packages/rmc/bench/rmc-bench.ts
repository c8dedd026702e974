// The RMC benchmark (`npm run bench -w @urgate/rmc`): ms per training iteration (forward, loss
// <R, outputs>, BPTT, Adam with clipping) of a UR-RMC through @urgate/rmc's runRmc on the
// native kernels, next to torch_rmc.py (the same RMC in PyTorch) and the tfjs reference
// (runRmcReference), all in the same run. Per shape the three run back to back, and the
// kernels and torch each report their best iteration after a warm-up: on a shared machine
// load only ever slows an iteration, so the best is the least disturbed measurement.
//
//   BENCH_RMC_SHAPES=rmc-512,rmc-1024 picks shapes.

import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { machine, runTorchReference, TORCH_SETTINGS_NOTE, torchAvailable } from '@urgate/bench';
import { type RmcConfig, resolveRmcConfig, rmcParamLayout } from '@urgate/contract';
import { FusedAdam, nativeAvailable, nativeLoadError } from '@urgate/kernels';
import { initialMemory, initRmcParams, runRmc, runRmcReference } from '@urgate/rmc';

interface RmcShape {
  name: string;
  n: number;
  N: number;
  h: number;
  H: number;
  B: number;
  T: number;
  iters: number;
  /** Steps of the tfjs reference actually run; its time is scaled by T / tfjsSteps. */
  tfjsSteps: number;
}

const SHAPES: RmcShape[] = [
  { name: 'rmc-512', n: 64, N: 4, h: 128, H: 4, B: 32, T: 50, iters: 3, tfjsSteps: 2 },
  { name: 'rmc-1024', n: 64, N: 4, h: 512, H: 2, B: 32, T: 100, iters: 3, tfjsSteps: 2 },
].filter(
  (s) => !process.env.BENCH_RMC_SHAPES || process.env.BENCH_RMC_SHAPES.split(',').includes(s.name),
);

function config(shape: RmcShape): RmcConfig {
  return {
    inputSize: shape.n,
    memSlots: shape.N,
    headSize: shape.h,
    numHeads: shape.H,
    mechanism: 'UR-',
  };
}

/** ms of one training iteration of `run` over `steps` steps (best of `iters` after a warm-up; 1 run if iters is 0). */
function timeIteration(
  run: typeof runRmcReference,
  shape: RmcShape,
  steps: number,
  iters: number,
): number {
  const cfg = config(shape);
  const D = shape.h * shape.H;
  const params = initRmcParams(cfg, 1);
  const trainable = rmcParamLayout(resolveRmcConfig(cfg)).filter((s) => s.trainable);
  const vars = trainable.map((s) => tf.variable(params[s.name], true, `rmc/${s.name}`));
  const named = { ...params };
  trainable.forEach((s, k) => {
    named[s.name] = vars[k];
  });
  const xs = tf.randomNormal([steps, shape.B, shape.n], 0, 1, 'float32', 1) as tf.Tensor3D;
  const R = tf.randomNormal([steps, shape.B, shape.N * D], 0, 1, 'float32', 2);
  const memory0 = initialMemory(cfg, shape.B);
  const adam = new FusedAdam(vars, { lr: 1e-3, clipNorm: 1 });
  // R enters as the upstream gradient of the outputs, which is what the loss <R, outputs>
  // sends back (as torch's backward of (out * R).sum() receives it; the kernels' LSTM bench
  // does the same): the tfjs cpu backend's broadcasting mul and sum would otherwise add
  // hundreds of ms of JavaScript to both sides.
  const step = () =>
    tf.tidy(() => {
      const grads = tf.grads((...ws: tf.Tensor[]) => {
        const p = { ...named };
        trainable.forEach((s, k) => {
          p[s.name] = ws[k];
        });
        return run(cfg, p, xs, memory0).outputs;
      })(vars, R);
      adam.step(grads);
    });
  const times: number[] = [];
  if (iters > 0) step(); // warm-up
  for (let i = 0; i < Math.max(1, iters); i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  tf.dispose([...Object.values(params), ...vars, xs, R, memory0]);
  return Math.min(...times);
}

/** Best of the thread settings (@urgate/bench's runTorchReference). */
function torchTime(shape: RmcShape): { version: string; ms: number } | undefined {
  if (!torchAvailable()) return undefined;
  const { n, N, h, H, B, T, iters } = shape;
  const runs = runTorchReference<{ torch: string; results: { ms: number }[] }>(
    fileURLToPath(new URL('./torch_rmc.py', import.meta.url)),
    ['--shapes', JSON.stringify([{ n, N, h, H, B, T, iters, mechanism: 'UR-' }])],
  );
  if (runs.length === 0) return undefined;
  console.log(
    `  torch (${runs.map((r) => `${r.label} ${r.result.results[0].ms.toFixed(0)} ms`).join(', ')})`,
  );
  return {
    version: runs[0].result.torch,
    ms: Math.min(...runs.map((r) => r.result.results[0].ms)),
  };
}

/** Runs the RMC shapes and prints the table. */
function rmcBench(): void {
  if (SHAPES.length === 0) return;
  console.log('');
  console.log(`RMC (UR-, gateStyle unit, 1 block, MLP 2 layers); ${machine()}:`);
  const lines = [
    '| shape | kernels ms/iter | torch ms/iter | torch / kernels | tfjs reference ms/iter | tfjs / kernels |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  let version: string | undefined;
  for (const shape of SHAPES) {
    const label = `${shape.name} (slots ${shape.N}, head ${shape.h} × ${shape.H} heads = ${shape.h * shape.H}, in ${shape.n}, B=${shape.B}, T=${shape.T})`;
    console.log(`  ${label}:`);
    const ms = timeIteration(
      (c, p, x, m) => runRmc(c, p, x, m, 'native'),
      shape,
      shape.T,
      shape.iters,
    );
    console.log(`  kernels ${ms.toFixed(0)} ms/iter`);
    const torch = torchTime(shape);
    version = torch?.version ?? version;
    const refSteps = timeIteration(runRmcReference, shape, shape.tfjsSteps, 0);
    const refMs = (refSteps * shape.T) / shape.tfjsSteps;
    console.log(
      `  tfjs reference ${refSteps.toFixed(0)} ms at T=${shape.tfjsSteps}, scaled to ${refMs.toFixed(0)} ms`,
    );
    lines.push(
      `| ${label} | ${ms.toFixed(0)} | ${torch === undefined ? 'n/a' : torch.ms.toFixed(0)} | ${torch === undefined ? '' : `${(torch.ms / ms).toFixed(2)}×`} | ${refMs.toFixed(0)} (T=${shape.tfjsSteps} × ${shape.T / shape.tfjsSteps}) | ${(refMs / ms).toFixed(0)}× |`,
    );
  }
  console.log('');
  console.log(lines.join('\n'));
  console.log('');
  console.log(
    `${version ? `PyTorch ${version} (bench/torch_rmc.py): ${TORCH_SETTINGS_NOTE}. ` : 'PyTorch not found under /usr/bin/python3: torch column omitted. '}` +
      'The tfjs reference runs T=tfjsSteps steps once and is scaled linearly to T (BPTT cost is linear in T). ' +
      'Iteration = forward, loss <R, outputs>, BPTT, Adam with global-norm clipping; kernels and torch: best of iters after a warm-up.',
  );
}

if (!nativeAvailable) {
  console.error(`bench: the native kernels are not built: ${nativeLoadError}`);
  process.exit(1);
}
tf.setBackend('cpu');
rmcBench();
