import { describe, expect, it } from 'vitest';
import { ProgressReporter } from '../src/progress.js';

function fakeStream() {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => lines.push(s) === 0 || true };
  return { stream: stream as unknown as NodeJS.WriteStream, lines };
}

describe('progress reporter without a TTY', () => {
  it('writes plain lines with the step, the percentage, a rate, an ETA and the values; one more at stop', () => {
    const { stream, lines } = fakeStream();
    const p = new ProgressReporter({
      total: 200,
      label: 'copy UR-LSTM',
      stream,
      intervalMs: 0,
      start: 50,
    });
    p.update(100, { loss: 1.23456 });
    p.update(150, { evalLoss: 0.5 });
    p.stop();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^copy UR-LSTM 100\/200 \(50%\) [\d.]+ it\/s ETA \S+ loss=1\.235\n$/);
    expect(lines[1]).toMatch(/^copy UR-LSTM 150\/200 \(75%\) .* loss=1\.235 evalLoss=0\.5000\n$/);
    expect(lines[2]).toMatch(/^copy UR-LSTM 150\/200 \(75%\) [\d.]+ it\/s elapsed \S+ /);
  });

  it('rate-limits lines to one per interval', () => {
    const { stream, lines } = fakeStream();
    const p = new ProgressReporter({ total: 10, stream, intervalMs: 60_000 });
    for (let k = 1; k <= 10; k++) p.update(k);
    expect(lines).toHaveLength(1);
  });
});
