import type { LanguageModelSpec } from '../spec.js';
import { GraphBuilder, GraphScope, valueInfo } from './builder.js';
import { lmStateIO, stackStates } from './language-model.js';
import type { GraphProto } from './proto.js';
import { scanLayer, stackInitializers } from './recurrence.js';

/**
 * (tokens [T, B], state) -> (forget [L, T, B, d], final state): the effective forget gate every layer
 * applies at every step — the refined gate for R-/UR-/OR-, the master-gated one for OM-/UM-, the keep
 * gate of a GRU — computed by the same layer equations as the step and sequence graphs, for looking
 * at which units hold information for how long (`POST /gates` of `urgate serve`).
 */
export function languageModelGatesGraph(spec: LanguageModelSpec): GraphProto {
  const scope = new GraphScope();
  const g = new GraphBuilder(scope);
  const L = spec.layers.length;
  const d = spec.hiddenSize;
  const tokens = scope.reserve('tokens');
  const state = lmStateIO(g, spec, 0);
  const forgetOut = scope.reserve('forget');

  const embedding = scope.floatTensor(
    'embedding',
    [spec.vocabSize, spec.embeddingSize],
    spec.embedding,
  );
  const weights = stackInitializers(scope, spec.layers);
  const states = state.layers();
  let xs = g.op1('Gather', [embedding, tokens], { axis: 0 }, 'xs');
  const forget: string[] = [];
  const finals = weights.map((w, l) => {
    const r = scanLayer(g, w, xs, states[l], null, spec.zoneout, l, true);
    forget.push(r.forget as string);
    xs = r.outputs;
    return r.state;
  });
  stackStates(g, forget, 0, forgetOut);
  state.finish(finals);

  return {
    name: 'urgate_lm_gates',
    node: g.nodes,
    initializer: scope.initializers,
    input: [valueInfo(tokens, 'int64', ['time', 'batch']), ...state.inputs],
    output: [valueInfo(forgetOut, 'float', [L, 'time', 'batch', d]), ...state.outputs],
  };
}
