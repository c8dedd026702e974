// Zaremba & Sutskever's curricula (utils/strategies.lua). Levels start at (1, 1).
//   baseline: the target (length, nesting);
//   naive:    the current level;
//   mix:      length uniform in [1, target length] on every draw, nesting uniform in
//             [1, target nesting] once per program;
//   combined: ("blend") on every draw, with probability 1/5 the mix value, else the
//             current level.
// `makeHarder()` raises the length until the target, then resets it to 1 and raises the
// nesting; it returns false at the target. The original calls it when the validation
// accuracy exceeds 95% or the training accuracy is lower than 5 evaluations before.

import type { Random } from '@urgate/random';
import { checkZarembaNesting, ZAREMBA_MAX_LENGTH, type ZarembaHardness } from './zaremba.js';

export const ZAREMBA_CURRICULA = ['baseline', 'naive', 'mix', 'combined'] as const;
export type ZarembaCurriculumKind = (typeof ZAREMBA_CURRICULA)[number];

export class ZarembaCurriculum {
  readonly kind: ZarembaCurriculumKind;
  readonly targetLength: number;
  readonly targetNesting: number;
  private length = 1;
  private nesting = 1;

  constructor(options: {
    kind: ZarembaCurriculumKind;
    targetLength: number;
    targetNesting: number;
  }) {
    if (!ZAREMBA_CURRICULA.includes(options.kind)) {
      throw new Error(
        `curriculum: expected one of ${ZAREMBA_CURRICULA.join(', ')}, got '${String(options.kind)}'`,
      );
    }
    const { targetLength, targetNesting } = options;
    if (!Number.isInteger(targetLength) || targetLength < 1 || targetLength > ZAREMBA_MAX_LENGTH) {
      throw new Error(
        `curriculum targetLength: expected an integer in [1, ${ZAREMBA_MAX_LENGTH}], got ${targetLength}`,
      );
    }
    checkZarembaNesting(targetNesting);
    this.kind = options.kind;
    this.targetLength = targetLength;
    this.targetNesting = targetNesting;
  }

  get level(): { length: number; nesting: number } {
    return { length: this.length, nesting: this.nesting };
  }

  /** Continues from a saved `level` (of a curriculum with the same options). */
  restore(level: { length: number; nesting: number }): void {
    const int = (v: unknown, hi: number) =>
      Number.isInteger(v) && (v as number) >= 1 && (v as number) <= hi;
    if (!int(level?.length, this.targetLength) || !int(level.nesting, this.targetNesting))
      throw new Error(`curriculum state: not a level of this curriculum: ${JSON.stringify(level)}`);
    this.length = level.length;
    this.nesting = level.nesting;
  }

  makeHarder(): boolean {
    if (this.length < this.targetLength) {
      this.length++;
      return true;
    }
    if (this.nesting < this.targetNesting) {
      this.length = 1;
      this.nesting++;
      return true;
    }
    return false;
  }

  /** Hardness for one program drawn with `rng`. */
  hardness(rng: Random): ZarembaHardness {
    const mixed = () => ({
      length: 1 + rng.int(this.targetLength),
      nesting: 1 + rng.int(this.targetNesting),
    });
    const draw = (): { length: number; nesting: number } => {
      switch (this.kind) {
        case 'baseline':
          return { length: this.targetLength, nesting: this.targetNesting };
        case 'naive':
          return this.level;
        case 'mix':
          return mixed();
        case 'combined':
          return rng.int(5) === 0 ? mixed() : this.level;
      }
    };
    return { nesting: draw().nesting, length: () => draw().length };
  }
}
