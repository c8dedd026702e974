import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { L2E_TENSORS, type RmcConfig, resolveRmcConfig, saveCheckpoint } from '@urgate/contract';
import { exportCheckpoint } from '@urgate/onnx';
import { decodeL2e, openModel } from '@urgate/onnx/runtime';
import { initialMemory, initRmcParams, runRmcReference } from '@urgate/rmc';
import { onnxCheck, onnxCheckerMissing } from '@urgate/test-checks';
import { describe, expect, it } from 'vitest';

// The l2e trainer's RMC has unit gates, one attention block and a 2-layer MLP; the export of
// every other mechanism and gate style the core supports is checked here, on perturbed
// initial parameters, against the tfjs reference of packages/rmc (runRmcReference).
const V = 5;
const B = 3;
const TIN = 4;
const TOUT = 3;
const base = { inputSize: V, memSlots: 3, headSize: 3, numHeads: 2 };

const CASES: [string, RmcConfig][] = [
  [
    "'-' unit, 2 blocks, 3 MLP layers, keySize 2",
    { ...base, mechanism: '-', numBlocks: 2, attentionMlpLayers: 3, keySize: 2 },
  ],
  ["'C-' unit", { ...base, mechanism: 'C-', tMax: 8 }],
  ["'OM-' unit, downsize 3", { ...base, mechanism: 'OM-', downsize: 3 }],
  ["'U-' unit", { ...base, mechanism: 'U-' }],
  ["'UR-' unit, 1 MLP layer", { ...base, mechanism: 'UR-', attentionMlpLayers: 1 }],
  ["'-' memory", { ...base, mechanism: '-', gateStyle: 'memory', forgetBias: 0.5 }],
  ["'C-' memory", { ...base, mechanism: 'C-', gateStyle: 'memory', tMax: 8 }],
  ["'-' none", { ...base, mechanism: '-', gateStyle: 'none' }],
];

const ids = (n: number, salt: number) =>
  Int32Array.from({ length: n }, (_, k) => (k * 7 + salt * 3 + ((k * k) % 5)) % V);

describe('the RMC core exports to ONNX for every mechanism and gate style', () => {
  for (const [label, cfg] of CASES)
    it(`${label}: onnxruntime logits equal runRmcReference's`, async () => {
      const rmc = resolveRmcConfig(cfg);
      const d = rmc.memSlots * rmc.memSize;
      const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
      const params = initRmcParams(cfg, 11);
      let salt = 0;
      for (const [name, t] of Object.entries(params)) {
        // Perturb every tensor (biases start at 0, gammas at 1) so that each one matters.
        const p =
          name === 'gate.offset'
            ? t
            : t.add(tf.randomUniform(t.shape, -0.3, 0.3, 'float32', ++salt));
        tensors[name] = { shape: [...t.shape], data: Float32Array.from(p.dataSync()) };
        params[name] = p;
      }
      const outW = tf.randomUniform([d, V], -0.5, 0.5, 'float32', 99);
      const outB = tf.randomUniform([V], -0.5, 0.5, 'float32', 98);
      tensors[L2E_TENSORS.outputW] = { shape: [d, V], data: Float32Array.from(outW.dataSync()) };
      tensors[L2E_TENSORS.outputB] = { shape: [V], data: Float32Array.from(outB.dataSync()) };
      const out = mkdtempSync(join(tmpdir(), 'urgate-rmc-onnx-'));
      const ckpt = join(out, 'rmc.safetensors');
      await saveCheckpoint(ckpt, tensors, {
        model: { kind: 'l2e', core: 'rmc', mechanism: rmc.mechanism, vocabSize: V, rmc },
      });
      const exported = await exportCheckpoint(ckpt, out);
      if (onnxCheckerMissing() === null) expect(onnxCheck([exported.sequence])).toEqual([]);

      // Each row reads its program (lengths 4, 2, 3), then the decoder inputs; the reference
      // runs one row at a time over exactly that stream.
      const program = ids(TIN * B, 1);
      const decoderInputs = ids(TOUT * B, 2);
      const programLengths = Int32Array.of(4, 2, 3);
      const session = await openModel(exported.sequence);
      const got = await decodeL2e(session, {
        batchSize: B,
        programSteps: TIN,
        outputSteps: TOUT,
        program,
        programLengths,
        decoderInputs,
      });
      await session.close();
      for (let b = 0; b < B; b++) {
        const stream = [
          ...Array.from({ length: programLengths[b] }, (_, t) => program[t * B + b]),
          ...Array.from({ length: TOUT }, (_, t) => decoderInputs[t * B + b]),
        ];
        const want = tf.tidy(() => {
          const xs = tf
            .oneHot(tf.tensor1d(stream, 'int32'), V)
            .toFloat()
            .reshape([stream.length, 1, V]);
          const { outputs } = runRmcReference(
            cfg,
            params,
            xs as tf.Tensor3D,
            initialMemory(cfg, 1),
          );
          const dec = outputs.slice([programLengths[b], 0, 0], [TOUT, 1, d]).reshape([TOUT, d]);
          return dec.matMul(outW).add(outB).dataSync() as Float32Array;
        });
        for (let j = 0; j < TOUT; j++)
          for (let k = 0; k < V; k++) {
            const w = want[j * V + k];
            expect(Math.abs(got[(j * B + b) * V + k] - w)).toBeLessThanOrEqual(
              1e-5 + 1e-4 * Math.abs(w),
            );
          }
      }
    });
});

describe('a bad RMC description in an l2e checkpoint is one line naming the field', () => {
  const rmc = resolveRmcConfig({ ...base, mechanism: 'UR-' });
  // Each case adds its fields (model.rmc among them) to a description that lacks only model.rmc.
  for (const [label, model, message] of [
    ['no model.rmc', {}, 'model.rmc must describe the RMC core, got undefined'],
    [
      'headSize 0',
      { rmc: { ...rmc, headSize: 0 } },
      'model.rmc.headSize: expected a positive integer, got 0',
    ],
    [
      "mechanism 'R-'",
      { mechanism: 'R-', rmc: { ...rmc, mechanism: 'R-' } },
      "model.rmc.mechanism: 'R-' is not supported on the RMC",
    ],
    [
      'no gate.offset (a training checkpoint written before they were saved)',
      { rmc },
      "missing tensor gate.offset: the RMC's fixed gate offsets",
    ],
  ] as const)
    it(label, async () => {
      const out = mkdtempSync(join(tmpdir(), 'urgate-rmc-onnx-bad-'));
      const ckpt = join(out, 'rmc.safetensors');
      const one = { shape: [1], data: Float32Array.of(0) };
      await saveCheckpoint(
        ckpt,
        { one },
        { model: { kind: 'l2e', core: 'rmc', mechanism: 'UR-', vocabSize: V, ...model } },
      );
      await expect(exportCheckpoint(ckpt, out)).rejects.toThrow(`checkpoint ${ckpt}: ${message}`);
    });
});
