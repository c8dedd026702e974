import * as ort from 'onnxruntime-node';
import { requireGraph, type UrgateModel } from './session.js';

/** One batch of the encoder-decoder's inputs, time-major (element t·B + b). */
export interface L2eInputs {
  batchSize: number;
  programSteps: number;
  outputSteps: number;
  /** [programSteps, B] character ids. */
  program: Int32Array;
  /** [B], each in [1, programSteps]. */
  programLengths: Int32Array;
  /** [outputSteps, B]: start symbol, then the target shifted by one. */
  decoderInputs: Int32Array;
}

const int64 = (ids: Int32Array, dims: number[]) =>
  new ort.Tensor(
    'int64',
    BigInt64Array.from(ids, (v) => BigInt(v)),
    dims,
  );

/** Character logits [outputSteps, B, V] (row-major) of an exported l2e encoder-decoder. */
export async function decodeL2e(model: UrgateModel, x: L2eInputs): Promise<Float32Array> {
  requireGraph(model, 'l2e', 'decodeL2e');
  const V = model.metadata.model.vocabSize as number;
  const { batchSize: B, programSteps: Tin, outputSteps: Tout } = x;
  if (x.program.length !== Tin * B || x.decoderInputs.length !== Tout * B)
    throw new Error(
      `decodeL2e: program must hold [${Tin}, ${B}] and decoder inputs [${Tout}, ${B}] ids`,
    );
  for (const ids of [x.program, x.decoderInputs])
    for (const id of ids)
      if (!(id >= 0 && id < V))
        throw new Error(`decodeL2e: character id ${id} is outside the vocabulary [0, ${V})`);
  if (x.programLengths.length !== B || x.programLengths.some((n) => !(n >= 1 && n <= Tin)))
    throw new Error(`decodeL2e: program lengths must be ${B} values in [1, ${Tin}]`);
  const r = await model.session.run({
    program: int64(x.program, [Tin, B]),
    program_lengths: int64(x.programLengths, [B]),
    decoder_inputs: int64(x.decoderInputs, [Tout, B]),
  });
  return r.logits.data as Float32Array;
}
