// How a stream's server-sent events reach its socket. Every write to a socket is a system call
// (and, on loopback, the reader's wake-up): with 64 streams each taking a token per step, those
// calls cost the server thread more than building the events, on the cores the inference worker
// needs. So an event written after a quiet spell goes out at once (the first token is not
// delayed), and those that follow within `intervalMs` are held here and leave
// together, in one write, when the interval ends. The events sent are the same, byte for byte.
import type { ServerResponse } from 'node:http';

export class StreamWriter {
  private timer: NodeJS.Timeout | null = null;
  /** Events written since the last socket write, to leave with the next. */
  private held = '';

  constructor(
    private readonly raw: ServerResponse,
    /** 0: every event goes out at once. */
    private readonly intervalMs: number,
  ) {}

  write(text: string): void {
    if (this.raw.destroyed) return;
    if (this.timer !== null) {
      this.held += text;
      return;
    }
    this.raw.write(text);
    if (this.intervalMs > 0) this.timer = setTimeout(() => this.tick(), this.intervalMs);
  }

  /** Sends what is held and ends the response. */
  end(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.send();
    this.raw.end();
  }

  /** At the interval's end what was held leaves; the next interval starts if something did. */
  private tick(): void {
    this.timer = null;
    if (this.held === '' || this.raw.destroyed) return;
    this.send();
    this.timer = setTimeout(() => this.tick(), this.intervalMs);
  }

  private send(): void {
    if (this.held !== '' && !this.raw.destroyed) this.raw.write(this.held);
    this.held = '';
  }
}
