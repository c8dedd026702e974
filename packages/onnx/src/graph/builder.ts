import {
  type AttributeProto,
  type GraphProto,
  type NodeProto,
  onnx,
  type TensorProto,
  type TensorTypeProto,
  type ValueInfoProto,
} from './proto.js';

const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;

/** Plain numbers become INT (integral) or FLOAT attributes. */
export type AttrValue = number | number[] | string | { graph: GraphProto };
export type Dim = number | string;
export type ElemType = 'float' | 'int64';

/** Names, initializers and constants shared by a graph and all of its Scan bodies (names are global in ONNX scope). */
export class GraphScope {
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, string>();

  name(hint: string): string {
    let candidate = hint;
    for (let k = 1; this.used.has(candidate); k++) candidate = `${hint}_${k}`;
    this.used.add(candidate);
    return candidate;
  }

  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`graph name ${name} is already taken`);
    this.used.add(name);
    return name;
  }

  floatTensor(hint: string, dims: number[], data: Float32Array): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (data.length !== count)
      throw new Error(`initializer ${hint}: ${data.length} values for shape [${dims}]`);
    const name = this.name(hint);
    this.initializers.push({
      name,
      dims,
      dataType: DataType.FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  int64Tensor(hint: string, dims: number[], data: number[]): string {
    const name = this.name(hint);
    const values = BigInt64Array.from(data.map((v) => BigInt(v)));
    this.initializers.push({
      name,
      dims,
      dataType: DataType.INT64,
      rawData: new Uint8Array(values.buffer),
    });
    return name;
  }

  /** Small constants are deduplicated: one initializer per distinct value. */
  floatScalar(value: number): string {
    const key = `f:${value}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.floatTensor('const_f', [], Float32Array.of(value));
      this.constants.set(key, name);
    }
    return name;
  }

  int64s(values: number[], scalar = false): string {
    const key = `i${scalar ? 's' : 'v'}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.int64Tensor('const_i', scalar ? [] : [values.length], values);
      this.constants.set(key, name);
    }
    return name;
  }
}

function attribute(name: string, value: AttrValue): AttributeProto {
  if (typeof value === 'string')
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? { name, type: AttributeType.INT, i: value }
      : { name, type: AttributeType.FLOAT, f: value };
  }
  return { name, type: AttributeType.GRAPH, g: value.graph };
}

/** A typed graph input or output; string dimensions are symbolic (`batch`, `time`). */
export function valueInfo(name: string, elem: ElemType, dims: Dim[]): ValueInfoProto {
  const tensorType: TensorTypeProto = {
    elemType: elem === 'float' ? DataType.FLOAT : DataType.INT64,
    shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
  };
  return { name, type: { tensorType } };
}

/** Appends nodes to one graph (the main graph or a Scan body). */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  constructor(readonly scope: GraphScope) {}

  op(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    outputs = 1,
    hint?: string,
  ): string[] {
    const base = hint ?? opType.toLowerCase();
    const names = Array.from({ length: outputs }, () => this.scope.name(base));
    return this.opInto(names, opType, inputs, attrs);
  }

  /** Single-output op; `hint` names the result. */
  op1(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    hint?: string,
  ): string {
    return this.op(opType, inputs, attrs, 1, hint)[0];
  }

  /** Writes into names already reserved in the scope (graph outputs, Scan results). */
  opInto(
    outputs: string[],
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
  ): string[] {
    this.nodes.push({
      opType,
      input: inputs,
      output: outputs,
      name: this.scope.name(`n_${outputs[0]}`),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs;
  }

  sigmoid(x: string, hint?: string): string {
    return this.op1('Sigmoid', [x], {}, hint);
  }
  tanh(x: string, hint?: string): string {
    return this.op1('Tanh', [x], {}, hint);
  }
  add(a: string, b: string, hint?: string): string {
    return this.op1('Add', [a, b], {}, hint);
  }
  sub(a: string, b: string, hint?: string): string {
    return this.op1('Sub', [a, b], {}, hint);
  }
  mul(a: string, b: string, hint?: string): string {
    return this.op1('Mul', [a, b], {}, hint);
  }
  oneMinus(x: string, hint?: string): string {
    return this.sub(this.scope.floatScalar(1), x, hint);
  }
  /** cumax(x) = cumsum(softmax(x)) over the last axis (the units of one block). */
  cumax(x: string, hint?: string): string {
    const soft = this.op1('Softmax', [x], { axis: -1 });
    return this.op1('CumSum', [soft, this.scope.int64s([-1], true)], {}, hint);
  }
}
