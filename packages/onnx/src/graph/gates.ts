import type { LanguageModelSpec } from '../spec.js';
import { GraphBuilder, GraphScope, valueInfo } from './builder.js';
import { layerStates, stackStates } from './language-model.js';
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
  const hasC = spec.layers[0].core === 'lstm';
  const stateDims = [L, 'batch', d];
  const tokens = scope.reserve('tokens');
  const hIn = scope.reserve('h_in');
  const cIn = hasC ? scope.reserve('c_in') : null;
  const out = {
    forget: scope.reserve('forget'),
    h: scope.reserve('h_out'),
    c: hasC ? scope.reserve('c_out') : null,
  };

  const embedding = scope.floatTensor(
    'embedding',
    [spec.vocabSize, spec.embeddingSize],
    spec.embedding,
  );
  const weights = stackInitializers(scope, spec.layers);
  const hs = layerStates(g, hIn, L, 0);
  const cs = cIn ? layerStates(g, cIn, L, 0) : [];
  let xs = g.op1('Gather', [embedding, tokens], { axis: 0 }, 'xs');
  const forget: string[] = [];
  const hOut: string[] = [];
  const cOut: string[] = [];
  weights.forEach((w, l) => {
    const r = scanLayer(g, w, xs, { h: hs[l], c: cIn ? cs[l] : null }, null, spec.zoneout, l, true);
    forget.push(r.forget as string);
    hOut.push(r.state.h);
    if (r.state.c) cOut.push(r.state.c);
    xs = r.outputs;
  });
  stackStates(g, forget, 0, out.forget);
  stackStates(g, hOut, 0, out.h);
  if (out.c) stackStates(g, cOut, 0, out.c);

  return {
    name: 'urgate_lm_gates',
    node: g.nodes,
    initializer: scope.initializers,
    input: [
      valueInfo(tokens, 'int64', ['time', 'batch']),
      valueInfo(hIn, 'float', stateDims),
      ...(cIn ? [valueInfo(cIn, 'float', stateDims)] : []),
    ],
    output: [
      valueInfo(out.forget, 'float', [L, 'time', 'batch', d]),
      valueInfo(out.h, 'float', stateDims),
      ...(out.c ? [valueInfo(out.c, 'float', stateDims)] : []),
    ],
  };
}
