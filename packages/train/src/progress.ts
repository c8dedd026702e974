import { createRequire } from 'node:module';

// cli-progress ships no types; this is the part of its API used here.
interface Bar {
  start(total: number, value: number, payload: Record<string, unknown>): void;
  update(value: number, payload: Record<string, unknown>): void;
  stop(): void;
}
type BarClass = new (options: Record<string, unknown>) => Bar;

export interface ProgressOptions {
  total: number;
  /** Shown before the bar / at the start of each line. */
  label?: string;
  /** Default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Plain-line interval when the stream is not a TTY (default 15 s). */
  intervalMs?: number;
  /** The step the run starts from (a resumed run); rates count only steps done here. */
  start?: number;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatValues(values: Record<string, number | string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? v.toPrecision(4) : v}`)
    .join(' ');
}

/**
 * Progress of a run: a cli-progress bar with rate and ETA on a TTY; elsewhere (logs, child
 * processes of a sweep) one plain line every `intervalMs` and one at the end.
 */
export class ProgressReporter {
  private readonly total: number;
  private readonly label: string;
  private readonly stream: NodeJS.WriteStream;
  private readonly intervalMs: number;
  private readonly start: number;
  private readonly startedAt = Date.now();
  private lastLineAt = 0;
  private done: number;
  private values: Record<string, number | string> = {};
  private bar: Bar | undefined;

  constructor(options: ProgressOptions) {
    this.total = options.total;
    this.label = options.label ?? 'train';
    this.stream = options.stream ?? process.stderr;
    this.intervalMs = options.intervalMs ?? 15_000;
    this.start = options.start ?? 0;
    this.done = this.start;
    if (this.stream.isTTY) {
      const { SingleBar } = createRequire(import.meta.url)('cli-progress') as {
        SingleBar: BarClass;
      };
      this.bar = new SingleBar({
        stream: this.stream,
        format: `${this.label} [{bar}] {value}/{total} | {rate} it/s | ETA {eta} | {info}`,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
      });
      this.bar.start(this.total, this.start, { rate: '?', eta: '?', info: '' });
    }
  }

  private rate(): number {
    return (this.done - this.start) / Math.max((Date.now() - this.startedAt) / 1000, 1e-3);
  }

  update(done: number, values: Record<string, number | string> = {}): void {
    this.done = done;
    this.values = { ...this.values, ...values };
    const rate = this.rate();
    const eta = formatDuration((this.total - done) / rate);
    if (this.bar) {
      this.bar.update(done, { rate: rate.toFixed(2), eta, info: formatValues(this.values) });
      return;
    }
    const now = Date.now();
    if (now - this.lastLineAt >= this.intervalMs) {
      this.lastLineAt = now;
      this.line(`ETA ${eta}`);
    }
  }

  private line(tail: string): void {
    const pct = ((100 * this.done) / this.total).toFixed(0);
    this.stream.write(
      `${this.label} ${this.done}/${this.total} (${pct}%) ${this.rate().toFixed(2)} it/s ${tail} ${formatValues(this.values)}\n`,
    );
  }

  stop(): void {
    if (this.bar) this.bar.stop();
    else this.line(`elapsed ${formatDuration((Date.now() - this.startedAt) / 1000)}`);
  }
}
