// The native engine of the l2e trainer: @urgate/kernels' NativeL2eModel, started from the seed's
// values (params.ts), its RMC gate offsets re-created from the seed.
import type { CheckpointTensors } from '@urgate/contract';
import { arenaView, NativeL2eModel } from '@urgate/kernels/native';
import type { L2eRunConfig } from './config.js';
import type { L2eBatch } from './data.js';
import { initL2eTensors, l2eArchitecture } from './params.js';
import type { L2eTraining } from './training.js';

export class NativeL2eTraining implements L2eTraining {
  readonly engine = 'native';
  readonly model: NativeL2eModel;
  readonly constants: CheckpointTensors;

  constructor(config: L2eRunConfig, vocabSize: number) {
    const arch = l2eArchitecture(config, vocabSize);
    const init = initL2eTensors(config, arch);
    this.constants = init.constants;
    this.model = new NativeL2eModel(
      arch,
      Object.fromEntries(Object.entries(init.constants).map(([name, t]) => [name, t.data])),
    );
    for (const [name, t] of Object.entries(init.params)) arenaView(this.model, name).set(t.data);
  }

  gradients(batch: L2eBatch): number {
    return this.model.trainStep(batch);
  }

  evaluate(batch: L2eBatch): { loss: number; logits: Float32Array } {
    return this.model.evaluate(batch);
  }

  dispose(): void {}
}
