import { endianness } from 'node:os';
import { METADATA_KEY, type UrgateOnnxMetadata } from '../runtime/metadata.js';
import { type GraphProto, IR_VERSION, type ModelProto, OPSET, onnx } from './proto.js';

/** Wraps a graph into an opset-17 / IR-8 model with the urgate metadata as JSON under one key. */
export function encodeModel(graph: GraphProto, metadata: UrgateOnnxMetadata): Uint8Array {
  // Initializers are stored as the host's bytes; ONNX raw_data is little-endian.
  if (endianness() !== 'LE')
    throw new Error('ONNX export: this host is big-endian; export on a little-endian machine');
  const model: ModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'urgate',
    producerVersion: '0.1.0',
    graph,
    metadataProps: [{ key: METADATA_KEY, value: JSON.stringify(metadata) }],
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
