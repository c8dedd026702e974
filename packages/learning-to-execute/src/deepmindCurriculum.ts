// Sonnet's Learning-to-Execute curricula. Levels start at (length 1, nesting 1).
//   baseline: always the target (maxLength, maxNesting);
//   naive:    the current level; each advance raises length, then (at max length) nesting;
//   mix:      length uniform in [1, maxLength] and nesting in [1, maxNesting] per sample;
//   combine:  length uniform in [1, current length], nesting in [1, current nesting] per
//             sample; advances like naive.
// Advancing (`update(loss)`): losses go into a window of max(min(minTries, 10), 5); after
// minTries calls on a level, the mean of successive differences of the window divided by
// its mean loss is compared with the threshold; below it the level is finished.

import type { Random } from '@urgate/random';

export const DEEPMIND_CURRICULA = ['baseline', 'naive', 'mix', 'combine'] as const;
export type DeepMindCurriculumKind = (typeof DEEPMIND_CURRICULA)[number];

export interface DeepMindCurriculumOptions {
  kind: DeepMindCurriculumKind;
  maxLength: number;
  maxNesting: number;
  /** Sonnet's LearnToExecute default 0.1. */
  lossThreshold?: number;
  /** Sonnet's default 10 (0 for the baseline/test mode). */
  minTries?: number;
}

export interface Level {
  length: number;
  nesting: number;
}

/** Everything `update` has accumulated: a checkpoint stores it to resume exactly. */
export interface DeepMindCurriculumState extends Level {
  tries: number;
  losses: number[];
}

export class DeepMindCurriculum {
  readonly kind: DeepMindCurriculumKind;
  readonly maxLength: number;
  readonly maxNesting: number;
  readonly lossThreshold: number;
  readonly minTries: number;
  private length = 1;
  private nesting = 1;
  private tries = 0;
  private losses: number[] = [];
  private readonly window: number;

  constructor(options: DeepMindCurriculumOptions) {
    if (!DEEPMIND_CURRICULA.includes(options.kind)) {
      throw new Error(
        `curriculum: expected one of ${DEEPMIND_CURRICULA.join(', ')}, got '${String(options.kind)}'`,
      );
    }
    for (const name of ['maxLength', 'maxNesting'] as const) {
      if (!Number.isInteger(options[name]) || options[name] < 1) {
        throw new Error(`curriculum ${name}: expected a positive integer, got ${options[name]}`);
      }
    }
    this.kind = options.kind;
    this.maxLength = options.maxLength;
    this.maxNesting = options.maxNesting;
    this.lossThreshold = options.lossThreshold ?? 0.1;
    this.minTries = options.minTries ?? (options.kind === 'baseline' ? 0 : 10);
    this.window = Math.max(Math.min(this.minTries, 10), 5);
    if (this.kind === 'baseline') {
      this.length = this.maxLength;
      this.nesting = this.maxNesting;
    }
  }

  /** The current level ("nesting.length" in Sonnet's logs). */
  get level(): Level {
    return { length: this.length, nesting: this.nesting };
  }

  get state(): DeepMindCurriculumState {
    return {
      length: this.length,
      nesting: this.nesting,
      tries: this.tries,
      losses: [...this.losses],
    };
  }

  /** Continues from a saved `state` (of a curriculum with the same options). */
  restore(state: DeepMindCurriculumState): void {
    const int = (v: unknown, lo: number, hi: number) =>
      Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
    if (
      !int(state?.length, 1, this.maxLength) ||
      !int(state.nesting, 1, this.maxNesting) ||
      !int(state.tries, 0, Number.MAX_SAFE_INTEGER) ||
      !Array.isArray(state.losses) ||
      state.losses.length > this.window ||
      !state.losses.every((l) => typeof l === 'number')
    )
      throw new Error(`curriculum state: not a state of this curriculum: ${JSON.stringify(state)}`);
    this.length = state.length;
    this.nesting = state.nesting;
    this.tries = state.tries;
    this.losses = [...state.losses];
  }

  /** Level of one sample. */
  sample(rng: Random): Level {
    switch (this.kind) {
      case 'mix':
        return { length: 1 + rng.int(this.maxLength), nesting: 1 + rng.int(this.maxNesting) };
      case 'combine':
        return { length: 1 + rng.int(this.length), nesting: 1 + rng.int(this.nesting) };
      default:
        return this.level;
    }
  }

  /** Records a loss; returns true when the level advanced. */
  update(loss: number): boolean {
    if (!this.levelFinished(loss)) return false;
    if (this.kind !== 'naive' && this.kind !== 'combine') return false;
    if (this.length < this.maxLength) {
      this.length++;
      return true;
    }
    if (this.nesting < this.maxNesting) {
      this.nesting++;
      return true;
    }
    return false;
  }

  private levelFinished(loss: number): boolean {
    this.losses.push(loss);
    if (this.losses.length > this.window) this.losses.shift();
    if (this.tries < this.minTries - 1) {
      this.tries++;
      return false;
    }
    const n = this.losses.length;
    // With one loss there are no differences: the mean is NaN and nothing advances.
    let diffs = 0;
    for (let i = 1; i < n; i++) diffs += this.losses[i] - this.losses[i - 1];
    const mean = this.losses.reduce((a, b) => a + b, 0) / n;
    if (!(diffs / (n - 1) / mean < this.lossThreshold)) return false;
    this.tries = 0;
    this.losses = [];
    return true;
  }
}
