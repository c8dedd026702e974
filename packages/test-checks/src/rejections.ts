// "Bad input gets one clear line": how the tests check a refusal.
import { expect } from 'vitest';

/**
 * Expects `promise` to reject with an Error whose message is one line (and matches `pattern`
 * when one is given); returns the message.
 */
export async function rejectsInOneLine(
  promise: Promise<unknown>,
  pattern?: RegExp,
): Promise<string> {
  const err = await promise.then(
    () => null,
    (e: Error) => e,
  );
  expect(err, 'expected an error').toBeInstanceOf(Error);
  const message = (err as Error).message;
  expect(message).not.toContain('\n');
  if (pattern) expect(message).toMatch(pattern);
  return message;
}
