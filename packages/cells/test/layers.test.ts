import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  GatedGRUCell,
  GatedLSTMCell,
  initLayerParams,
  runLayerReference,
  zeroState,
} from '../src/index.js';

const close = (a: tf.Tensor, b: tf.Tensor, tol = 1e-5) => {
  expect(a.shape).toEqual(b.shape);
  const y = b.dataSync();
  a.dataSync().forEach((v, k) => {
    expect(Math.abs(v - y[k])).toBeLessThanOrEqual(tol);
  });
};

describe('tfjs-layers cells', () => {
  for (const [Cell, core] of [
    [GatedLSTMCell, 'lstm'],
    [GatedGRUCell, 'gru'],
  ] as const) {
    it(`tf.layers.rnn over ${Cell.name} equals runLayerReference with the same weights`, () => {
      const cell = new Cell({
        units: 8,
        mechanism: 'UM-',
        downsize: 4,
        seed: 3,
        fixedGateOffset: true,
      });
      const rnn = tf.layers.rnn({ cell, returnSequences: true, returnState: true });
      const xsBatchMajor = tf.randomNormal([2, 5, 3], 0, 1, 'float32', 4) as tf.Tensor3D;
      const [outputs, ...states] = rnn.apply(xsBatchMajor) as tf.Tensor[];

      const cfg = {
        core,
        mechanism: 'UM-' as const,
        inputSize: 3,
        hiddenSize: 8,
        downsize: 4,
        fixedGateOffset: true,
      };
      const params = initLayerParams(cfg, 3);
      const ref = runLayerReference(
        cfg,
        params,
        xsBatchMajor.transpose([1, 0, 2]) as tf.Tensor3D,
        zeroState(cfg, 2),
      );
      close(outputs, ref.outputs.transpose([1, 0, 2]));
      close(states[0], ref.state.h);
      if (core === 'lstm') close(states[1], ref.state.c as tf.Tensor);

      // Weight names and trainability follow LAYOUT.md: W and b train, bOffset is fixed.
      expect(rnn.trainableWeights.map((w) => w.originalName.split('/').pop())).toEqual(['W', 'b']);
      expect(rnn.nonTrainableWeights.map((w) => w.originalName.split('/').pop())).toEqual([
        'bOffset',
      ]);
      close(cell.getParams().W, params.W);
    });
  }

  it('a model with the cell round-trips through toJSON / modelFromJSON (registered class)', async () => {
    const model = tf.sequential();
    model.add(
      tf.layers.rnn({
        cell: new GatedLSTMCell({ units: 4, mechanism: 'ur', seed: 1 }),
        inputShape: [3, 2],
      }),
    );
    const topology = model.toJSON(undefined, false) as tf.io.ModelJSON['modelTopology'];
    const rebuilt = await tf.models.modelFromJSON({ modelTopology: topology });
    const cell = (rebuilt.layers[0] as unknown as { cell: GatedLSTMCell }).cell;
    expect(cell).toBeInstanceOf(GatedLSTMCell);
    expect([cell.units, cell.mechanism, cell.seed]).toEqual([4, 'UR-', 1]);
    const x = tf.randomNormal([2, 3, 2], 0, 1, 'float32', 5);
    close(rebuilt.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor, 0);
  });

  it('rejects bad cell arguments', () => {
    expect(() => new GatedGRUCell({ units: 0 })).toThrow(
      /^units: expected a positive integer, got 0/,
    );
    expect(() => new GatedGRUCell({ units: 4, mechanism: 'XR-' })).toThrow(
      /^mechanism: unknown gate mechanism "XR-"; expected one of/,
    );
  });
});
