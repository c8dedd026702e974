import { onnx } from './src/graph/proto.js';

console.log(typeof onnx.ModelProto.encode, onnx.TensorProto.DataType.FLOAT);
