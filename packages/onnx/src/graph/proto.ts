// onnx-proto is a CommonJS bundle (protobufjs static code); its namespace lives on the default export.
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type ModelProto = onnxProto.onnx.IModelProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

export const OPSET = 17;
export const IR_VERSION = 8;
export type TensorTypeProto = onnxProto.onnx.TypeProto.ITensor;
