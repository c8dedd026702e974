// A graph cut down to some of its outputs. onnxruntime runs every node of a session's graph
// whatever outputs a run asks for, so a caller that needs only the states of the sequence graph
// (a prefill that scores nothing) would still pay for the output layer over every position.
import onnxProto from 'onnx-proto';

type Graph = onnxProto.onnx.IGraphProto;
type Node = onnxProto.onnx.INodeProto;

/** Every name a node reads: its inputs and, for Scan/Loop/If, what its subgraphs read. */
function reads(node: Node): string[] {
  const names = [...(node.input ?? [])];
  for (const a of node.attribute ?? [])
    for (const g of [a.g, ...(a.graphs ?? [])])
      if (g) for (const inner of g.node ?? []) names.push(...reads(inner));
  return names;
}

/**
 * The encoded model with only the nodes that those of `wanted` the graph has depend on (a GRU's
 * graph has no `c_out`), and only the inputs and initializers those nodes read. The kept nodes are
 * the same nodes in the same order, so what they compute does not change.
 */
export function keepOutputs(
  bytes: Uint8Array,
  wanted: readonly string[],
  where: string,
): Uint8Array {
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  const graph = model.graph as Graph;
  const outputs = wanted.filter((o) => (graph.output ?? []).some((v) => v.name === o));
  if (outputs.length === 0)
    throw new Error(`${where}: the graph has none of the outputs ${wanted.join(', ')}`);
  const needed = new Set(outputs);
  const nodes = graph.node ?? [];
  const kept = new Array<boolean>(nodes.length).fill(false);
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (!(nodes[i].output ?? []).some((o) => needed.has(o))) continue;
    kept[i] = true;
    for (const name of reads(nodes[i])) needed.add(name);
  }
  graph.node = nodes.filter((_, i) => kept[i]);
  graph.output = (graph.output ?? []).filter((v) => outputs.includes(v.name ?? ''));
  graph.input = (graph.input ?? []).filter((v) => needed.has(v.name ?? ''));
  graph.initializer = (graph.initializer ?? []).filter((t) => needed.has(t.name ?? ''));
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => needed.has(v.name ?? ''));
  return onnxProto.onnx.ModelProto.encode(model).finish();
}
