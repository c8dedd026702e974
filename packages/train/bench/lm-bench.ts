// Training throughput (tokens/s) of a UR-LSTM and a `-` LSTM language model through urgate
// (runStack -> fused kernel, BLAS matmuls, fused softmax-xent, FusedAdam) next to PyTorch's
// equivalents in the same run. Sizes: URGATE_LM_BENCH="V,H,B,T,iters" (default 8000,1024,32,128,3).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { FusedAdam, softmaxCrossEntropy, useNativeKernels } from '@urgate/kernels';
import { createLmModel, disposeState, type LmState, lmForward, zeroLmState } from '@urgate/train';

const [V, H, B, T, iters] = (process.env.URGATE_LM_BENCH ?? '8000,1024,32,128,3')
  .split(',')
  .map(Number);
if (!useNativeKernels()) throw new Error('lm-bench needs the native kernels: npm run build');

function urgateTokensPerSecond(mechanism: '-' | 'UR-'): number {
  const model = createLmModel(
    {
      core: 'lstm',
      mechanism,
      numLayers: 1,
      vocabSize: V,
      embeddingSize: H,
      hiddenSize: H,
      layerNorm: false,
      tiedEmbeddings: true,
    },
    1,
  );
  const vars = Object.values(model.params);
  const adam = new FusedAdam(vars, { lr: 1e-3, clipNorm: 0.1 });
  let seed = 1;
  const random = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % V;
  };
  let state: LmState = zeroLmState(model, B);
  const step = () => {
    const inputs = Int32Array.from({ length: T * B }, random);
    const targets = Int32Array.from({ length: T * B }, random);
    let next: LmState = [];
    const { value, grads } = tf.variableGrads(() => {
      const out = lmForward(
        model,
        { steps: T, batch: B, inputs, resets: new Uint8Array(T * B) },
        state,
        { training: false },
      );
      next = out.state.map((s) => ({ h: tf.keep(s.h), ...(s.c ? { c: tf.keep(s.c) } : {}) }));
      return softmaxCrossEntropy(out.logits, tf.tensor1d(targets, 'int32'));
    }, vars);
    value.dataSync();
    adam.step(vars.map((v) => grads[v.name]));
    tf.dispose([value, grads]);
    disposeState(state);
    state = next;
  };
  step(); // warm-up
  const started = performance.now();
  for (let k = 0; k < iters; k++) step();
  const seconds = (performance.now() - started) / 1000;
  disposeState(state);
  tf.dispose(vars);
  return (B * T * iters) / seconds;
}

function torchTokensPerSecond(): Record<string, number> | null {
  const python = '/usr/bin/python3';
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'torch_lm.py');
  if (!existsSync(python)) return null;
  const best: Record<string, number> = {};
  for (const [threads, env] of [
    ['1', { OPENBLAS_NUM_THREADS: '2' }],
    ['0', {}],
  ] as const) {
    try {
      const out = execFileSync(
        python,
        [
          script,
          '--threads',
          threads,
          '--V',
          `${V}`,
          '--H',
          `${H}`,
          '--B',
          `${B}`,
          '--T',
          `${T}`,
          '--iters',
          `${iters}`,
        ],
        {
          env: { ...process.env, ...env },
          encoding: 'utf8',
        },
      );
      const r = JSON.parse(out) as Record<string, number>;
      for (const key of ['nn.LSTM', 'step-by-step UR-LSTM'])
        best[key] = Math.max(best[key] ?? 0, r[key]);
    } catch (e) {
      process.stderr.write(`torch reference failed: ${(e as Error).message.split('\n')[0]}\n`);
      return null;
    }
  }
  return best;
}

console.log(
  `LM training throughput, V=${V} H=E=${H} (tied) B=${B} T=${T}, ${iters} iterations after a warm-up`,
);
const ur = urgateTokensPerSecond('UR-');
const plain = urgateTokensPerSecond('-');
const torch = torchTokensPerSecond();
const row = (name: string, tps: number, ref?: number, refName?: string) =>
  console.log(
    `| ${name} | ${tps.toFixed(0)} | ${ref ? `${(tps / ref).toFixed(2)}× ${refName}` : ''} |`,
  );
console.log('| model | tokens/s | vs torch |\n| --- | ---: | --- |');
row('urgate UR-LSTM', ur, torch?.['step-by-step UR-LSTM'], 'step-by-step torch UR-LSTM');
row('urgate -LSTM', plain, torch?.['nn.LSTM'], 'torch nn.LSTM');
if (torch) {
  row('torch nn.LSTM (best threads)', torch['nn.LSTM']);
  row('torch step-by-step UR-LSTM (best threads)', torch['step-by-step UR-LSTM']);
}
