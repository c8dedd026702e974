import * as tf from '@tensorflow/tfjs';
import {
  type BlockName,
  CORES,
  type Core,
  gateFamily,
  isCore,
  isMechanism,
  type Layout,
  MECHANISMS,
  type Mechanism,
} from '@urgate/contract';

export type PreActivations = Partial<Record<BlockName, tf.Tensor2D>>;
export interface EffectiveGates {
  /** Effective forget gate F, [B, d]. */
  forget: tf.Tensor2D;
  /** Effective input gate I, [B, d]. */
  input: tf.Tensor2D;
}

/** The named column blocks of pre-activations `[rows, cols]` (LAYOUT.md "Block order"). */
export function splitBlocks(pre: tf.Tensor2D, layout: Pick<Layout, 'blocks'>): PreActivations {
  const out: PreActivations = {};
  for (const blk of layout.blocks) out[blk.name] = pre.slice([0, blk.offset], [-1, blk.width]);
  return out;
}

/** cumax(x) = cumsum(softmax(x)) over the units of a block (last axis). */
export function cumax(x: tf.Tensor2D): tf.Tensor2D {
  return tf.cumsum(tf.softmax(x, -1), 1);
}

/** Refine gate g = r·(1-(1-f)²) + (1-r)·f² = f·(2r + (1-2r)·f). */
export function refineGate(f: tf.Tensor2D, r: tf.Tensor2D): tf.Tensor2D {
  const twoR = r.mul(2);
  return f.mul(twoR.add(tf.onesLike(r).sub(twoR).mul(f)));
}

/** Repeats each master unit k over neurons k·C .. k·C+C-1: [B, m] -> [B, m·C]. */
export function repeatMasters(x: tf.Tensor2D, downsize: number): tf.Tensor2D {
  const [batch, m] = x.shape;
  return x
    .reshape([batch, m, 1])
    .tile([1, 1, downsize])
    .reshape([batch, m * downsize]);
}

function oneMinus(x: tf.Tensor2D): tf.Tensor2D {
  return tf.onesLike(x).sub(x);
}

/**
 * Effective forget and input gates (F, I) of a mechanism from its pre-activation blocks
 * (LAYOUT.md "Gate mechanisms"). The base input ι is σ(a_i) on the LSTM and 1 - f on the
 * GRU, whose input gate is already tied to its forget gate.
 */
export function gate(
  mechanism: Mechanism,
  core: Core,
  pre: PreActivations,
  downsize: number,
): EffectiveGates {
  if (!isMechanism(mechanism)) {
    throw new Error(
      `mechanism: unknown gate mechanism ${JSON.stringify(mechanism)}; expected one of ${MECHANISMS.map((m) => `'${m}'`).join(', ')}`,
    );
  }
  if (!isCore(core))
    throw new Error(
      `core: unknown core ${JSON.stringify(core)}; expected one of ${CORES.map((c) => `'${c}'`).join(', ')}`,
    );
  const block = (name: BlockName): tf.Tensor2D => {
    const t = pre[name];
    if (t === undefined)
      throw new Error(
        `pre.${name}: mechanism '${mechanism}' on the ${core} needs pre-activation block '${name}'`,
      );
    return t;
  };
  const baseInput = (f: tf.Tensor2D) => (core === 'lstm' ? tf.sigmoid(block('i')) : oneMinus(f));

  // Mechanisms of one family (MECHANISM_TABLE) differ only in their initial biases.
  const family = gateFamily(mechanism);
  switch (family) {
    case 'plain': {
      const f = tf.sigmoid(block('f'));
      return { forget: f, input: baseInput(f) };
    }
    case 'ordered': {
      const f = cumax(block('f'));
      return { forget: f, input: core === 'lstm' ? oneMinus(cumax(block('i'))) : oneMinus(f) };
    }
    case 'refine':
    case 'orderedRefine': {
      const f = family === 'orderedRefine' ? cumax(block('f')) : tf.sigmoid(block('f'));
      const g = refineGate(f, tf.sigmoid(block('r')));
      return { forget: g, input: oneMinus(g) };
    }
    case 'cumaxMaster':
    case 'sigmoidMaster': {
      if (!Number.isInteger(downsize) || downsize <= 0)
        throw new Error(`downsize: expected a positive integer, got ${JSON.stringify(downsize)}`);
      const f = tf.sigmoid(block('f'));
      const ordered = family === 'cumaxMaster';
      const masterF = repeatMasters(
        ordered ? cumax(block('mf')) : tf.sigmoid(block('mf')),
        downsize,
      );
      const masterI = repeatMasters(
        ordered ? oneMinus(cumax(block('mi'))) : tf.sigmoid(block('mi')),
        downsize,
      );
      const overlap = masterF.mul(masterI);
      return {
        forget: f.mul(overlap).add(masterF.sub(overlap)),
        input: baseInput(f).mul(overlap).add(masterI.sub(overlap)),
      };
    }
  }
}
