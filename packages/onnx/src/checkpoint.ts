import {
  ADAPTIVE_SOFTMAX_TENSORS,
  type AdaptiveSoftmax,
  adaptiveClusters,
  adaptiveTailHidden,
  adaptiveTailTensorName,
  type CheckpointMeta,
  CLASSIFIER_TENSORS,
  type Core,
  checkAdaptiveSoftmax,
  L2E_TENSORS,
  LM_TENSORS,
  layerLayout,
  layerTensorName,
  loadCheckpoint,
  type Mechanism,
  type ResolvedRmcConfig,
  type RmcConfig,
  resolveLayerConfig,
  resolveRmcConfig,
  rmcParamLayout,
} from '@urgate/contract';
import type {
  ClassifierSpec,
  ExportAdaptiveSoftmax,
  ExportLayer,
  L2eSpec,
  LanguageModelSpec,
  ModelSpec,
  Zoneout,
} from './spec.js';

type Tensors = Record<string, { shape: number[]; data: Float32Array }>;

export interface LoadedModel {
  spec: ModelSpec;
  meta: CheckpointMeta;
}

function fail(path: string, what: string): never {
  throw new Error(`checkpoint ${path}: ${what}`);
}

function positiveInt(path: string, model: Record<string, unknown>, key: string): number {
  const v = model[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    fail(path, `model.${key} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function rate(path: string, v: unknown, key: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !(v >= 0 && v < 1))
    fail(path, `model.zoneout.${key} must be in [0, 1), got ${JSON.stringify(v)}`);
  return v;
}

function zoneoutRates(path: string, model: Record<string, unknown>): Zoneout {
  const z = model.zoneout;
  if (z === undefined || z === null || z === false) return { c: 0, h: 0 };
  if (typeof z !== 'object') fail(path, `model.zoneout must be {c, h}, got ${JSON.stringify(z)}`);
  const r = z as Record<string, unknown>;
  return { c: rate(path, r.c, 'c'), h: rate(path, r.h, 'h') };
}

function tensor(path: string, tensors: Tensors, name: string, shape: number[]): Float32Array {
  const t = tensors[name];
  if (!t) fail(path, `missing tensor ${name} (expected shape [${shape.join(', ')}])`);
  if (t.shape.length !== shape.length || t.shape.some((s, k) => s !== shape[k])) {
    fail(path, `tensor ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return t.data;
}

function layers(
  path: string,
  tensors: Tensors,
  model: Record<string, unknown>,
  firstInput: number,
): ExportLayer[] {
  // resolveLayerConfig validates core and mechanism with a message naming the field.
  const core = model.core as Core;
  const mechanism = model.mechanism as Mechanism;
  const numLayers = positiveInt(path, model, 'numLayers');
  const d = positiveInt(path, model, 'hiddenSize');
  return Array.from({ length: numLayers }, (_, l) => {
    const inputSize = l === 0 ? firstInput : d;
    let cfg: ReturnType<typeof resolveLayerConfig>;
    try {
      cfg = resolveLayerConfig({
        core,
        mechanism,
        inputSize,
        hiddenSize: d,
        ...(typeof model.downsize === 'number' ? { downsize: model.downsize } : {}),
        ...(typeof model.tMax === 'number' ? { tMax: model.tMax } : {}),
        fixedGateOffset: model.fixedGateOffset === true,
      });
    } catch (e) {
      fail(path, `model.${(e as Error).message}`);
    }
    const { cols, blocks } = layerLayout(cfg);
    const W = tensor(path, tensors, layerTensorName(l, 'W'), [inputSize + d, cols]);
    const b = tensor(path, tensors, layerTensorName(l, 'b'), [cols]);
    const bias = Float32Array.from(b);
    if (tensors[layerTensorName(l, 'bOffset')]) {
      const offset = tensor(path, tensors, layerTensorName(l, 'bOffset'), [cols]);
      for (let k = 0; k < cols; k++) bias[k] += offset[k];
    }
    return {
      core,
      mechanism,
      inputSize,
      hiddenSize: d,
      downsize: cfg.downsize,
      blocks,
      cols,
      W,
      bias,
    };
  });
}

function adaptiveSoftmax(
  path: string,
  tensors: Tensors,
  model: Record<string, unknown>,
  V: number,
  d: number,
  tied: boolean,
): ExportAdaptiveSoftmax {
  const a = model.adaptiveSoftmax as AdaptiveSoftmax;
  try {
    if (!Array.isArray(a?.cutoffs)) throw new Error('adaptiveSoftmax.cutoffs: expected an array');
    checkAdaptiveSoftmax(a, V, d);
  } catch (e) {
    fail(path, `model.${(e as Error).message}`);
  }
  const c0 = a.cutoffs[0];
  const n = a.cutoffs.length;
  const hidden = adaptiveTailHidden(d, a);
  return {
    cutoffs: a.cutoffs,
    shortlist: tied ? null : tensor(path, tensors, ADAPTIVE_SOFTMAX_TENSORS.shortlist, [d, c0]),
    clusters: tensor(path, tensors, ADAPTIVE_SOFTMAX_TENSORS.clusters, [d, n]),
    headB: tensor(path, tensors, ADAPTIVE_SOFTMAX_TENSORS.headB, [c0 + n]),
    tails: adaptiveClusters(V, a).map(([begin, end], i) => ({
      begin,
      end,
      hidden: hidden[i],
      proj: tensor(path, tensors, adaptiveTailTensorName(i, 'proj'), [d, hidden[i]]),
      out: tensor(path, tensors, adaptiveTailTensorName(i, 'out'), [hidden[i], end - begin]),
    })),
  };
}

function languageModel(
  path: string,
  tensors: Tensors,
  model: Record<string, unknown>,
): LanguageModelSpec {
  const V = positiveInt(path, model, 'vocabSize');
  const E = positiveInt(path, model, 'embeddingSize');
  const d = positiveInt(path, model, 'hiddenSize');
  const tied = model.tiedEmbeddings === true;
  if (tied && E !== d) fail(path, `tiedEmbeddings needs embeddingSize (${E}) = hiddenSize (${d})`);
  return {
    kind: 'lm',
    layers: layers(path, tensors, model, E),
    vocabSize: V,
    embeddingSize: E,
    hiddenSize: d,
    embedding: tensor(path, tensors, LM_TENSORS.embedding, [V, E]),
    norm:
      model.layerNorm === true
        ? {
            gamma: tensor(path, tensors, LM_TENSORS.normGamma, [d]),
            beta: tensor(path, tensors, LM_TENSORS.normBeta, [d]),
          }
        : null,
    ...(model.adaptiveSoftmax
      ? { output: null, adaptive: adaptiveSoftmax(path, tensors, model, V, d, tied) }
      : {
          output: {
            W: tied ? null : tensor(path, tensors, LM_TENSORS.outputW, [d, V]),
            b: tensor(path, tensors, LM_TENSORS.outputB, [V]),
          },
          adaptive: null,
        }),
    zoneout: zoneoutRates(path, model),
  };
}

function classifier(
  path: string,
  tensors: Tensors,
  model: Record<string, unknown>,
): ClassifierSpec {
  const n = positiveInt(path, model, 'inputSize');
  const d = positiveInt(path, model, 'hiddenSize');
  const K = positiveInt(path, model, 'numClasses');
  const w1 = tensors[CLASSIFIER_TENSORS.W1];
  if (!w1) fail(path, `missing tensor head.W1 (expected shape [${d}, hidden])`);
  const hidden = w1.shape[1];
  return {
    kind: 'classifier',
    layers: layers(path, tensors, model, n),
    inputSize: n,
    hiddenSize: d,
    numClasses: K,
    head: {
      hidden,
      W1: tensor(path, tensors, CLASSIFIER_TENSORS.W1, [d, hidden]),
      b1: tensor(path, tensors, CLASSIFIER_TENSORS.b1, [hidden]),
      W2: tensor(path, tensors, CLASSIFIER_TENSORS.W2, [hidden, K]),
      b2: tensor(path, tensors, CLASSIFIER_TENSORS.b2, [K]),
    },
    zoneout: zoneoutRates(path, model),
  };
}

/** The RMC core of `model.rmc` (the resolved config the trainer records) and its tensors. */
function rmcCore(path: string, tensors: Tensors, model: Record<string, unknown>, V: number) {
  const raw = model.rmc;
  if (!raw || typeof raw !== 'object')
    fail(path, `model.rmc must describe the RMC core, got ${JSON.stringify(raw)}`);
  const r = raw as Record<string, unknown>;
  if (r.mechanism !== model.mechanism)
    fail(path, `model.rmc.mechanism ${JSON.stringify(r.mechanism)} differs from model.mechanism`);
  if (r.inputSize !== V)
    fail(
      path,
      `model.rmc.inputSize must equal model.vocabSize ${V}, got ${JSON.stringify(r.inputSize)}`,
    );
  // Only '-' and 'OM-' take the constant biases; the others record their defaults.
  const constantBiases = r.mechanism === '-' || r.mechanism === 'OM-';
  let config: ResolvedRmcConfig;
  try {
    config = resolveRmcConfig({
      ...(r as unknown as RmcConfig),
      forgetBias: constantBiases ? (r.forgetBias as number | undefined) : undefined,
      inputBias: constantBiases ? (r.inputBias as number | undefined) : undefined,
    });
  } catch (e) {
    fail(path, `model.rmc.${(e as Error).message}`);
  }
  if (config.gateStyle !== 'none' && !tensors['gate.offset'])
    fail(
      path,
      "missing tensor gate.offset: the RMC's fixed gate offsets (training checkpoints written before they were saved lack them; export the run's model.safetensors instead)",
    );
  const params: Tensors = {};
  for (const p of rmcParamLayout(config))
    params[p.name] = { shape: p.shape, data: tensor(path, tensors, p.name, p.shape) };
  return { config, params };
}

function l2e(path: string, tensors: Tensors, model: Record<string, unknown>): L2eSpec {
  const V = positiveInt(path, model, 'vocabSize');
  if (model.core === 'rmc') {
    const rmc = rmcCore(path, tensors, model, V);
    const d = rmc.config.memSlots * rmc.config.memSize;
    return {
      kind: 'l2e',
      layers: [],
      rmc,
      vocabSize: V,
      hiddenSize: d,
      output: {
        W: tensor(path, tensors, L2E_TENSORS.outputW, [d, V]),
        b: tensor(path, tensors, L2E_TENSORS.outputB, [V]),
      },
    };
  }
  const d = positiveInt(path, model, 'hiddenSize');
  return {
    kind: 'l2e',
    layers: layers(path, tensors, model, V),
    rmc: null,
    vocabSize: V,
    hiddenSize: d,
    output: {
      W: tensor(path, tensors, L2E_TENSORS.outputW, [d, V]),
      b: tensor(path, tensors, L2E_TENSORS.outputB, [V]),
    },
  };
}

/** Reads an urgate checkpoint and checks every tensor the model needs against LAYOUT.md, before any graph work. */
export async function readCheckpoint(path: string): Promise<LoadedModel> {
  // loadCheckpoint rejects non-safetensors files, truncation, and unknown formats or versions.
  const { tensors, meta } = await loadCheckpoint(path);
  const model = meta.model as Record<string, unknown> | undefined;
  if (!model || typeof model !== 'object') fail(path, 'metadata has no model description');
  const spec =
    model.kind === 'lm'
      ? languageModel(path, tensors, model)
      : model.kind === 'classifier'
        ? classifier(path, tensors, model)
        : model.kind === 'l2e'
          ? l2e(path, tensors, model)
          : fail(
              path,
              `model.kind must be "lm", "classifier" or "l2e", got ${JSON.stringify(model.kind)}`,
            );
  return { spec, meta };
}
