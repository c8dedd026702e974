/**
 * Learning rate over a run: `constant`, or `cosine` — a linear warmup over `warmupSteps`, then a
 * half cosine from the base rate down to a tenth of it at the end of the budget (nanoGPT's
 * schedule). A short run ends at a small rate, so its last steps refine instead of jumping.
 */
export type LrScheduleKind = 'constant' | 'cosine';

export const LR_SCHEDULES: readonly LrScheduleKind[] = ['constant', 'cosine'];

export interface LrSchedule {
  kind: LrScheduleKind;
  warmupSteps: number;
}

/** The floor of the cosine schedule, as a fraction of the base rate. */
export const COSINE_FLOOR = 0.1;

/**
 * The rate of step `step` (0-based) of a run that has used `spent` (0..1) of its budget: the
 * larger of its steps and its minutes fractions, so a run that stops on time ends at the floor.
 */
export function scheduledLr(lr: number, schedule: LrSchedule, step: number, spent: number): number {
  if (step < schedule.warmupSteps) return (lr * (step + 1)) / schedule.warmupSteps;
  if (schedule.kind === 'constant') return lr;
  const t = Math.min(1, Math.max(0, spent));
  return lr * (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + Math.cos(Math.PI * t)));
}
