/** Why a training step counts as diverged, or null when it does not. */
export function divergenceReason(loss: number, gradNorm: number): string | null {
  if (!Number.isFinite(loss)) return `loss is ${loss}`;
  if (!Number.isFinite(gradNorm)) return `gradient norm is ${gradNorm}`;
  return null;
}

/** How a run ended; "diverged" is a result to record, not a crash. */
export type RunOutcome = 'finished' | 'diverged';
