// Data-parallel LM training on one machine, in one run: tokens/s of 1 process x 2 threads
// against 2 MPI ranks x 1 thread (each rank half of the same global batch), with the gradient
// allreduce's milliseconds and bytes per step, at the demo shape and at H=1024. A step is the
// trainer's: the native LM's trainStep on the rank's rows (dropout 0.1, its rows of the global
// masks) -> the share-weighted gradients and loss summed over ranks in the gradient arena
// (reduceGradientArrays) -> Adam over the arena with clip 0.1. Run `flock /tmp/urgate-bench.lock npm run bench:data-parallel -w @urgate/train`;
// this process launches the two configurations (itself under mpirun for the ranks).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { machine } from '@urgate/bench';
import { nativeAvailable, setNativeThreads } from '@urgate/kernels/native';
import { mpirun, shareOf, world } from '@urgate/mpi';
import {
  broadcastParams,
  createLanguageModel,
  type LmState,
  lmDropout,
  reduceGradientArrays,
} from '@urgate/train';

interface Shape {
  name: string;
  V: number;
  H: number;
  B: number;
  T: number;
  iters: number;
}
const SHAPES: Shape[] = [
  { name: 'demo', V: 8705, H: 128, B: 32, T: 64, iters: 20 },
  { name: 'H=1024', V: 8000, H: 1024, B: 32, T: 128, iters: 4 },
];

interface Measured {
  shape: string;
  tokensPerSecond: number;
  msPerStep: number;
  allreduceMsPerStep: number;
  allreduceBytesPerStep: number;
}

function lcg(seed0: number, V: number) {
  let seed = seed0;
  return () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % V;
  };
}

/** Steps of the shape on this rank's rows; rank 0 returns the timings. */
async function measure(s: Shape): Promise<Measured> {
  const w = world();
  const { lo, hi } = shareOf(w.rank, w.size, s.B);
  const model = await createLanguageModel(
    {
      core: 'lstm',
      mechanism: 'UR-',
      numLayers: 1,
      vocabSize: s.V,
      embeddingSize: s.H,
      hiddenSize: s.H,
      layerNorm: false,
      tiedEmbeddings: true,
    },
    1,
  );
  broadcastParams(w, model);
  const random = lcg(1, s.V);
  const rows = hi - lo;
  let state: LmState = model.zeroState(rows);
  const resets = new Uint8Array(s.T * rows);
  const views = model.tensors.map((t) => ({
    name: t.name,
    values: model.grads.subarray(t.offset, t.offset + t.size),
    width: t.shape[1] ?? 1,
  }));
  const totals = { ms: 0, reduceMs: 0, bytes: 0 };
  const step = (k: number) => {
    // The global batch's tokens on every rank; this rank keeps its columns.
    const all = () => Int32Array.from({ length: s.T * s.B }, random);
    const [inputs, targets] = [all(), all()].map((a) =>
      Int32Array.from(
        { length: s.T * rows },
        (_, i) => a[Math.floor(i / rows) * s.B + lo + (i % rows)],
      ),
    );
    const started = performance.now();
    const rowsOf = w.size > 1 ? { total: s.B, offset: lo } : undefined;
    const out = model.trainStep(
      { steps: s.T, batch: rows, inputs, targets, resets },
      state,
      lmDropout(0.1, 1, k, rowsOf),
    );
    if (w.size > 1) {
      const reduced = reduceGradientArrays(w, views, out.loss, rows / s.B);
      if (k > 0) {
        totals.reduceMs += reduced.ms;
        totals.bytes += reduced.bytes;
      }
    }
    model.adamUpdate({ lr: 1e-3, clipNorm: 0.1 });
    state = out.state;
    if (k > 0) totals.ms += performance.now() - started;
  };
  for (let k = 0; k <= s.iters; k++) step(k); // step 0: warm-up, not timed
  const perStep = totals.ms / s.iters;
  return {
    shape: s.name,
    tokensPerSecond: (s.B * s.T) / (perStep / 1000),
    msPerStep: perStep,
    allreduceMsPerStep: totals.reduceMs / s.iters,
    allreduceBytesPerStep: totals.bytes / s.iters,
  };
}

async function main() {
  if (!nativeAvailable) throw new Error('the bench needs the native kernels: npm run build');
  if (process.argv[2] === 'measure') {
    setNativeThreads(Number(process.argv[3]));
    const results: Measured[] = [];
    for (const shape of SHAPES) results.push(await measure(shape));
    if (world().rank === 0) process.stdout.write(`${JSON.stringify(results)}\n`);
    return;
  }
  // This file again, from its sources as this process runs it (process.execArgv: the hooks).
  const self = [...process.execArgv, fileURLToPath(import.meta.url)];
  console.log(`before: ${machine()}; UR-LSTM, 1 layer, tied, dropout 0.1`);
  const single: Measured[] = JSON.parse(
    execFileSync(process.execPath, [...self, 'measure', '2'], { encoding: 'utf8' }),
  );
  const ranks = await mpirun({
    np: 2,
    command: [process.execPath, ...self, 'measure', '1'],
    deadlineMs: 600_000,
  });
  if (ranks.code !== 0) throw new Error(`mpirun failed: ${ranks.err}`);
  const two: Measured[] = JSON.parse(ranks.out);
  console.log(
    '| shape (V, H, B, T) | 1 process x 2 threads tok/s | 2 ranks x 1 thread tok/s | ratio | allreduce ms/step | allreduce MB/step | share of step |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  SHAPES.forEach((s, k) => {
    const a = single[k];
    const b = two[k];
    console.log(
      `| ${s.name} (${s.V}, ${s.H}, ${s.B}, ${s.T}) | ${a.tokensPerSecond.toFixed(0)} | ${b.tokensPerSecond.toFixed(0)} | ${(b.tokensPerSecond / a.tokensPerSecond).toFixed(2)} | ${b.allreduceMsPerStep.toFixed(1)} | ${(b.allreduceBytesPerStep / 1e6).toFixed(1)} | ${((100 * b.allreduceMsPerStep) / b.msPerStep).toFixed(0)}% |`,
    );
  });
  console.log(`after: ${machine()}`);
}

await main();
