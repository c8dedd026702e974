import type { ClassifierSpec } from '../spec.js';
import { GraphBuilder, GraphScope, valueInfo } from './builder.js';
import type { GraphProto } from './proto.js';
import { scanLayer, stackInitializers } from './recurrence.js';

/** (inputs [T, B, channels]) -> (logits [B, K]): layers from a zero state, head on the last step's h. */
export function classifierGraph(spec: ClassifierSpec): GraphProto {
  const scope = new GraphScope();
  const g = new GraphBuilder(scope);
  const d = spec.hiddenSize;
  const inputs = scope.reserve('inputs');
  const logits = scope.reserve('logits');
  const weights = stackInitializers(scope, spec.layers);
  const W1 = scope.floatTensor('head.W1', [d, spec.head.hidden], spec.head.W1);
  const b1 = scope.floatTensor('head.b1', [spec.head.hidden], spec.head.b1);
  const W2 = scope.floatTensor('head.W2', [spec.head.hidden, spec.numClasses], spec.head.W2);
  const b2 = scope.floatTensor('head.b2', [spec.numClasses], spec.head.b2);

  // Zero state [B, d], B read from the input's shape.
  const batch = g.op1('Slice', [g.op1('Shape', [inputs]), scope.int64s([1]), scope.int64s([2])]);
  const stateShape = g.op1('Concat', [batch, scope.int64s([d])], { axis: 0 });
  const zero = g.op1('ConstantOfShape', [stateShape], {}, 'zero_state');
  const lstm = spec.layers[0].core === 'lstm';

  let xs = inputs;
  let last = zero;
  weights.forEach((w, l) => {
    const r = scanLayer(g, w, xs, { h: zero, c: lstm ? zero : null }, null, spec.zoneout, l);
    xs = r.outputs;
    last = r.state.h;
  });
  const hidden = g.op1('Relu', [g.op1('Gemm', [last, W1, b1])]);
  g.opInto([logits], 'Gemm', [hidden, W2, b2]);

  return {
    name: 'urgate_classifier',
    node: g.nodes,
    initializer: scope.initializers,
    input: [valueInfo(inputs, 'float', ['time', 'batch', spec.inputSize])],
    output: [valueInfo(logits, 'float', ['batch', spec.numClasses])],
  };
}
