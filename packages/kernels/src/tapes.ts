// What a native forward pass keeps for its backward pass (its tape, often hundreds of MB) is
// freed by that backward pass. A forward pass whose gradient is never taken (evaluation, a
// tf.tidy without gradients) leaves its tape to a finalizer, which Node runs only after a
// collection and on a later turn of the event loop: a loop of such forward passes piled tapes up
// until the process was killed. So the tfjs ops register each tape here until their backward pass
// uses it, and a trainer frees whatever is left once a step or an evaluation batch is over.
import type { NativeTape } from './native.js';

const outstanding = new Map<NativeTape, (tape: NativeTape) => void>();

/** A forward pass's tape, with how to free it if no backward pass uses it. */
export function trackTape(tape: NativeTape, release: (tape: NativeTape) => void): void {
  outstanding.set(tape, release);
}

/** The backward pass used (and freed) it. */
export function untrackTape(tape: NativeTape): void {
  outstanding.delete(tape);
}

/**
 * Frees every tape no backward pass has used. Call between steps only: a backward pass still to
 * come would find its tape gone.
 */
export function releaseTapes(): void {
  for (const [tape, release] of outstanding) release(tape);
  outstanding.clear();
}
