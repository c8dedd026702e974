import * as tf from '@tensorflow/tfjs';
import { FusedAdam } from '@urgate/kernels';
import { initialMemory, initRmcParams, rmcParamLayout, resolveRmcConfig, runRmc } from '@urgate/rmc';
tf.setBackend('cpu');
const [h, H, T, iters] = process.argv.slice(2).map(Number);
const cfg = { inputSize: 64, memSlots: 4, headSize: h, numHeads: H, mechanism: 'UR-' };
const B = 32, D = h * H;
const params = initRmcParams(cfg, 1);
const tr = rmcParamLayout(resolveRmcConfig(cfg)).filter((s) => s.trainable);
const vars = tr.map((s) => tf.variable(params[s.name]));
const named = { ...params }; tr.forEach((s, k) => { named[s.name] = vars[k]; });
const xs = tf.randomNormal([T, B, 64]); const R = tf.randomNormal([T, B, 4 * D]);
const m0 = initialMemory(cfg, B);
const adam = new FusedAdam(vars, { lr: 1e-3, clipNorm: 1 });
for (let i = 0; i < iters; i++) {
  const t0 = performance.now();
  let tf0, tb;
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => { const o = runRmc(cfg, named, xs, m0).outputs; tf0 = performance.now(); return o.mul(R).sum(); }, vars);
    tb = performance.now();
    adam.step(grads);
  });
  console.log(`iter ${i}: ${(performance.now() - t0).toFixed(0)} ms (fwd ${(tf0 - t0).toFixed(0)}, bwd ${(tb - tf0).toFixed(0)})`);
}
