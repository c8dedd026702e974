import { createRequire } from 'node:module';
const k = createRequire(import.meta.url)('./build/Release/urgate_kernels.node');
const [h, H, T] = process.argv.slice(2).map(Number);
const spec = { inputSize: 64, memSlots: 4, headSize: h, numHeads: H, keySize: h, numBlocks: 1, mlpLayers: 2, gateStyle: 'unit', mechanism: 'UR-', downsize: 1, batch: 32, steps: T };
const D = h * H, F = 3 * D, G = 2 * D, n = 64;
const sizes = [n * D, D, D * F, F, F, F, D, D, D, D, D * D, D, D * D, D, D * G, D * G, G];
const w = sizes.map((s) => Float32Array.from({ length: s }, () => (Math.random() - 0.5) * 0.1));
const xs = Float32Array.from({ length: T * 32 * n }, () => Math.random());
const m0 = new Float32Array(32 * 4 * D);
const R = Float32Array.from({ length: T * 32 * 4 * D }, () => Math.random());
const fl = 2 * T * (160 * D * F + 2 * 160 * D * D + 128 * D * G);
console.log('sgemm 160xDx3D', k.sgemmGflops(160, F, D, 20).toFixed(1), 'GFLOP/s; 1024^3', k.sgemmGflops(1024,1024,1024,5).toFixed(1));
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const f = k.rmcForward(spec, w, xs, m0);
  const t1 = performance.now();
  k.rmcBackward(f.tape, w, xs, R);
  const t2 = performance.now();
  console.log(`fwd ${(t1 - t0).toFixed(0)} ms (${(fl / (t1 - t0) / 1e6).toFixed(1)} GFLOP/s) bwd ${(t2 - t1).toFixed(0)} ms (${(2 * fl / (t2 - t1) / 1e6).toFixed(1)} GFLOP/s)`);
}
