// Training-iteration benchmark of the native kernels against OpenBLAS sgemm,
// the tfjs reference and PyTorch, all measured in the same run (the machine is
// shared and noisy: compare the ratios, not the absolute numbers).
//
//   npm run bench -w @urgate/kernels        (BENCH_SHAPES=small to skip the LM shape)

import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import {
  machine,
  runTorchReference,
  TORCH_SETTINGS_NOTE,
  timeMs,
  torchAvailable,
} from '@urgate/bench';
import { initLayerParams, runLayerReference, type SequenceRunner, zeroState } from '@urgate/cells';
import { type Core, type LayerConfig, layerLayout, type Mechanism } from '@urgate/contract';
import {
  FusedAdam,
  measureSgemmGflops,
  nativeAvailable,
  nativeLoadError,
  nativeThreads,
  nativeVectorPath,
  runLayerFused,
} from '@urgate/kernels';

interface Shape {
  name: string;
  B: number;
  n: number;
  H: number;
  T: number;
  iters: number;
}

const SHAPES: Shape[] = [
  { name: 'small', B: 64, n: 8, H: 256, T: 100, iters: 10 },
  { name: 'LM', B: 32, n: 512, H: 1024, T: 128, iters: 3 },
].filter((s) => !process.env.BENCH_SHAPES || process.env.BENCH_SHAPES.split(',').includes(s.name));
const CONFIGS: { core: Core; mechanism: Mechanism }[] = [
  { core: 'lstm', mechanism: '-' },
  { core: 'lstm', mechanism: 'UR-' },
  { core: 'gru', mechanism: '-' },
  { core: 'gru', mechanism: 'UR-' },
];

/**
 * One training iteration: forward, BPTT of the loss <R, outputs> (R enters as
 * the upstream gradient, as torch's backward of (out * R).sum() receives it),
 * Adam with clipping.
 */
function trainingStep(
  run: SequenceRunner,
  cfg: LayerConfig,
  shape: Shape,
  seed: number,
): { step: () => void; dispose: () => void } {
  const params = initLayerParams(cfg, seed);
  const W = tf.variable(params.W);
  const b = tf.variable(params.b);
  const xs = tf.randomNormal([shape.T, shape.B, shape.n], 0, 1, 'float32', seed) as tf.Tensor3D;
  const R = tf.randomNormal([shape.T, shape.B, shape.H], 0, 1, 'float32', seed + 1);
  const state0 = zeroState(cfg, shape.B);
  const adam = new FusedAdam([W, b], { lr: 1e-3, clipNorm: 1 });
  const step = () =>
    tf.tidy(() => {
      const grads = tf.grads(
        (w: tf.Tensor, bias: tf.Tensor) =>
          run(cfg, { W: w as tf.Tensor2D, b: bias as tf.Tensor1D }, xs, state0).outputs,
      )([W, b], R);
      adam.step(grads);
    });
  const dispose = () => tf.dispose([W, b, xs, R, state0.h, ...(state0.c ? [state0.c] : [])]);
  return { step, dispose };
}

/** sgemm GFLOP/s of one recurrent step, [B, H]·[H, 4H], measured natively (no JS in the loop). */
function sgemmGflops(shape: Shape, cols: number): number {
  return measureSgemmGflops(shape.B, cols, shape.H, shape.name === 'LM' ? 20 : 200);
}

interface TorchRow {
  shape: { B: number; n: number; H: number; T: number };
  torch_threads: number;
  'nn.LSTM': number;
  'nn.GRU': number;
  'UR-LSTM step-by-step': number;
}

/** Best of the thread settings per entry (@urgate/bench's runTorchReference). */
function torchTimes(): { version: string; rows: TorchRow[]; note: string } | undefined {
  if (!torchAvailable()) return undefined;
  const shapes = JSON.stringify(
    SHAPES.map(({ B, n, H, T, name }) => ({ B, n, H, T, iters: name === 'LM' ? 2 : 5 })),
  );
  const runs = runTorchReference<{ torch: string; results: TorchRow[] }>(
    fileURLToPath(new URL('./torch_ref.py', import.meta.url)),
    ['--shapes', shapes],
  );
  for (const { label, result } of runs)
    console.log(
      `  ${label}: ${result.results.map((row) => `${row.shape.H}: LSTM ${row['nn.LSTM'].toFixed(0)} ms, GRU ${row['nn.GRU'].toFixed(0)} ms, UR step-by-step ${row['UR-LSTM step-by-step'].toFixed(0)} ms`).join('; ')}`,
    );
  if (runs.length === 0) return undefined;
  const best = (i: number, key: 'nn.LSTM' | 'nn.GRU' | 'UR-LSTM step-by-step') =>
    Math.min(...runs.map((r) => r.result.results[i][key]));
  return {
    version: runs[0].result.torch,
    rows: runs[0].result.results.map((row, i) => ({
      ...row,
      'nn.LSTM': best(i, 'nn.LSTM'),
      'nn.GRU': best(i, 'nn.GRU'),
      'UR-LSTM step-by-step': best(i, 'UR-LSTM step-by-step'),
    })),
    note: TORCH_SETTINGS_NOTE,
  };
}

function main(): void {
  if (!nativeAvailable) {
    console.error(`bench: the native kernels are not built: ${nativeLoadError}`);
    process.exit(1);
  }
  tf.setBackend('cpu');
  console.log(
    `urgate kernels benchmark — ${nativeThreads()} threads (URGATE_NUM_THREADS), loops on ${nativeVectorPath()}, tfjs ${tf.version.tfjs} cpu backend; ${machine()}`,
  );
  console.log('Running PyTorch references...');
  const torch = torchTimes();
  const lines: string[] = [];
  const header =
    '| shape | cell | kernels ms/iter | GFLOP/s | % of sgemm | torch ms/iter | kernels / torch | vs step-by-step torch UR-LSTM | tfjs reference ms/iter |';
  lines.push(header, '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  SHAPES.forEach((shape, si) => {
    const sgemm = sgemmGflops(shape, 4 * shape.H);
    console.log(
      `${shape.name} (B=${shape.B}, in=${shape.n}, H=${shape.H}, T=${shape.T}): sgemm [${shape.B}x${shape.H}]·[${shape.H}x${4 * shape.H}] ${sgemm.toFixed(1)} GFLOP/s`,
    );
    lines.push(
      `| ${shape.name} | sgemm ${shape.B}×${shape.H}·${shape.H}×${4 * shape.H} | | ${sgemm.toFixed(1)} | 100% | | | | |`,
    );
    for (const { core, mechanism } of CONFIGS) {
      const cfg: LayerConfig = { core, mechanism, inputSize: shape.n, hiddenSize: shape.H };
      const { cols } = layerLayout(cfg);
      const fused = trainingStep(runLayerFused, cfg, shape, 1);
      const ms = timeMs(fused.step, shape.iters);
      fused.dispose();
      // forward 2·T·B·(n+H)·cols, backward twice that (dA·Whᵀ, dW, dxs)
      const gflops = (6 * shape.T * shape.B * (shape.n + shape.H) * cols) / (ms * 1e6);
      let reference = '';
      if (shape.name === 'small') {
        const ref = trainingStep(runLayerReference, cfg, shape, 1);
        const t0 = performance.now();
        ref.step();
        const refMs = performance.now() - t0;
        ref.dispose();
        reference = `${refMs.toFixed(0)} (${(refMs / ms).toFixed(0)}× slower)`;
      }
      const row = torch?.rows[si];
      const torchMs = row ? (core === 'lstm' ? row['nn.LSTM'] : row['nn.GRU']) : undefined;
      const stepwise =
        row && core === 'lstm' && mechanism === 'UR-'
          ? `${(row['UR-LSTM step-by-step'] / ms).toFixed(2)}× faster`
          : '';
      const torchLabel =
        torchMs === undefined ? 'n/a' : `${torchMs.toFixed(1)} (nn.${core.toUpperCase()})`;
      const ratio = torchMs === undefined ? '' : `${(ms / torchMs).toFixed(2)}×`;
      console.log(
        `  ${mechanism}${core.toUpperCase()}: ${ms.toFixed(1)} ms/iter, ${gflops.toFixed(1)} GFLOP/s${reference ? `, tfjs reference ${reference}` : ''}`,
      );
      lines.push(
        `| ${shape.name} | ${mechanism}${core.toUpperCase()} | ${ms.toFixed(1)} | ${gflops.toFixed(1)} | ${((100 * gflops) / sgemm).toFixed(0)}% | ${torchLabel} | ${ratio} | ${stepwise} | ${reference} |`,
      );
    }
  });
  console.log('');
  console.log(lines.join('\n'));
  console.log('');
  console.log(
    torch
      ? `PyTorch ${torch.version}: ${torch.note}. Iteration = forward, loss <R, outputs>, BPTT, Adam.`
      : 'PyTorch not found under /usr/bin/python3: torch columns omitted.',
  );
}

main();
