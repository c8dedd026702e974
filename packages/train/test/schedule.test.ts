import { describe, expect, it } from 'vitest';
import { resolveLmConfig } from '../src/lm/config.js';
import { scheduledLr } from '../src/schedule.js';

describe('learning-rate schedule', () => {
  const cosine = { kind: 'cosine', warmupSteps: 4 } as const;

  it('warms up linearly: lr·(step+1)/warmupSteps for the first steps', () => {
    expect([0, 1, 2, 3].map((s) => scheduledLr(0.02, cosine, s, 0))).toEqual([
      0.005, 0.01, 0.015, 0.02,
    ]);
  });

  it('cosine: lr at the start, (lr + lr/10)/2 halfway, lr/10 at the end of the budget and after', () => {
    expect(scheduledLr(0.02, cosine, 4, 0)).toBeCloseTo(0.02, 12);
    expect(scheduledLr(0.02, cosine, 50, 0.5)).toBeCloseTo(0.011, 12);
    // cos(pi/3) = 1/2: 0.1 + 0.9 * 0.75
    expect(scheduledLr(0.02, cosine, 50, 1 / 3)).toBeCloseTo(0.02 * 0.775, 12);
    expect(scheduledLr(0.02, cosine, 99, 1)).toBeCloseTo(0.002, 12);
    expect(scheduledLr(0.02, cosine, 120, 1.2)).toBeCloseTo(0.002, 12);
  });

  it('constant keeps lr after its warmup', () => {
    const constant = { kind: 'constant', warmupSteps: 2 } as const;
    expect([0, 1, 2, 500].map((s) => scheduledLr(0.01, constant, s, s / 500))).toEqual([
      0.005, 0.01, 0.01, 0.01,
    ]);
  });

  it('the LM config refuses an unknown schedule or a bad warmup in one line naming the field', () => {
    expect(() => resolveLmConfig({ steps: 1, lrSchedule: 'linear' as 'cosine' })).toThrow(
      /^lrSchedule: expected constant or cosine, got "linear"$/,
    );
    expect(() => resolveLmConfig({ steps: 1, warmupSteps: 1.5 })).toThrow(
      /^warmupSteps: expected a non-negative integer, got 1.5$/,
    );
    expect(resolveLmConfig({ steps: 1 })).toMatchObject({ lrSchedule: 'constant', warmupSteps: 0 });
  });
});
