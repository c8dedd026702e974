// The RMC section of the kernels benchmark: ms per training iteration (forward, loss
// <R, outputs>, BPTT, Adam with clipping) of a UR-RMC through @urgate/rmc's runRmc on the
// native kernels, next to torch_rmc.py (the same RMC in PyTorch) and the tfjs reference
// (runRmcReference), all in the same run.
//
//   BENCH_RMC_SHAPES=rmc-512,rmc-1024 picks shapes; BENCH_RMC_SHAPES=none skips the section.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { FusedAdam } from '@urgate/kernels';
import {
  initialMemory,
  initRmcParams,
  type RmcConfig,
  resolveRmcConfig,
  rmcParamLayout,
  runRmc,
  runRmcReference,
} from '@urgate/rmc';

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
  { name: 'rmc-1024', n: 64, N: 4, h: 512, H: 2, B: 32, T: 100, iters: 2, tfjsSteps: 2 },
].filter(
  (s) => !process.env.BENCH_RMC_SHAPES || process.env.BENCH_RMC_SHAPES.split(',').includes(s.name),
);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function config(shape: RmcShape): RmcConfig {
  return {
    inputSize: shape.n,
    memSlots: shape.N,
    headSize: shape.h,
    numHeads: shape.H,
    mechanism: 'UR-',
  };
}

/** ms of one training iteration of `run` over `steps` steps (median of `iters` after a warm-up; 1 run if iters is 0). */
function timeIteration(run: typeof runRmc, shape: RmcShape, steps: number, iters: number): number {
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
  const step = () =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(
        () => run(cfg, named, xs, memory0).outputs.mul(R).sum() as tf.Scalar,
        vars,
      );
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
  return median(times);
}

interface TorchRmcRow {
  shape: { n: number; N: number; h: number; H: number; B: number; T: number };
  ms: number;
}

/** Best of (torch.set_num_threads(1), OPENBLAS_NUM_THREADS=2) and torch's default threads, per shape. */
function torchTimes(): { version: string; ms: number[] } | undefined {
  const script = fileURLToPath(new URL('../../bench/torch_rmc.py', import.meta.url));
  if (
    !existsSync('/usr/bin/python3') ||
    spawnSync('/usr/bin/python3', ['-c', 'import torch']).status !== 0
  )
    return undefined;
  const shapes = JSON.stringify(
    SHAPES.map(({ n, N, h, H, B, T, iters }) => ({ n, N, h, H, B, T, iters, mechanism: 'UR-' })),
  );
  const settings = [
    {
      threads: '1',
      env: { ...process.env, OPENBLAS_NUM_THREADS: '2' },
      label: 'torch 1 thread, OpenBLAS 2',
    },
    { threads: '0', env: { ...process.env }, label: 'torch defaults' },
  ];
  let best: number[] | undefined;
  let version = '';
  for (const s of settings) {
    const r = spawnSync('/usr/bin/python3', [script, '--threads', s.threads, '--shapes', shapes], {
      env: s.env,
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      console.error(`torch_rmc.py (${s.label}) failed: ${r.stderr.trim().split('\n').pop()}`);
      continue;
    }
    const out = JSON.parse(r.stdout) as { torch: string; results: TorchRmcRow[] };
    version = out.torch;
    console.log(
      `  torch ${s.label}: ${out.results.map((row, i) => `${SHAPES[i].name} ${row.ms.toFixed(0)} ms`).join(', ')}`,
    );
    const ms = out.results.map((row) => row.ms);
    best = best === undefined ? ms : best.map((b, i) => Math.min(b, ms[i]));
  }
  return best === undefined ? undefined : { version, ms: best };
}

/** Runs the RMC section and prints its table. */
export function rmcBench(): void {
  if (SHAPES.length === 0) return;
  console.log('');
  console.log('RMC (UR-, gateStyle unit, 1 block, MLP 2 layers): running PyTorch references...');
  const torch = torchTimes();
  const lines = [
    '| shape | kernels ms/iter | torch ms/iter | torch / kernels | tfjs reference ms/iter | tfjs / kernels |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  SHAPES.forEach((shape, i) => {
    const label = `${shape.name} (slots ${shape.N}, head ${shape.h} × ${shape.H} heads = ${shape.h * shape.H}, in ${shape.n}, B=${shape.B}, T=${shape.T})`;
    const ms = timeIteration(runRmc, shape, shape.T, shape.iters);
    const refSteps = timeIteration(runRmcReference, shape, shape.tfjsSteps, 0);
    const refMs = (refSteps * shape.T) / shape.tfjsSteps;
    const torchMs = torch?.ms[i];
    console.log(
      `  ${label}: kernels ${ms.toFixed(0)} ms/iter; tfjs reference ${refSteps.toFixed(0)} ms at T=${shape.tfjsSteps}, scaled to ${refMs.toFixed(0)} ms${torchMs === undefined ? '' : `; torch ${torchMs.toFixed(0)} ms`}`,
    );
    lines.push(
      `| ${label} | ${ms.toFixed(0)} | ${torchMs === undefined ? 'n/a' : torchMs.toFixed(0)} | ${torchMs === undefined ? '' : `${(torchMs / ms).toFixed(2)}×`} | ${refMs.toFixed(0)} (T=${shape.tfjsSteps} × ${shape.T / shape.tfjsSteps}) | ${(refMs / ms).toFixed(0)}× |`,
    );
  });
  console.log('');
  console.log(lines.join('\n'));
  console.log('');
  console.log(
    `${torch ? `PyTorch ${torch.version} (bench/torch_rmc.py): best of (torch.set_num_threads(1), OPENBLAS_NUM_THREADS=2) and default threads. ` : 'PyTorch not found under /usr/bin/python3: torch column omitted. '}` +
      'The tfjs reference runs T=tfjsSteps steps once and is scaled linearly to T (BPTT cost is linear in T). ' +
      'Iteration = forward, loss <R, outputs>, BPTT, Adam with global-norm clipping.',
  );
}
