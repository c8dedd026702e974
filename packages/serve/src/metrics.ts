// Prometheus metrics (prom-client), one registry per server so that several servers in a process
// do not share counters.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Generated tokens per second over a sliding window of this many seconds. */
const RATE_WINDOW = 10;

export interface SchedulerGauges {
  queued(): number;
  active(): number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly batchSize: Histogram;
  readonly generatedTokens: Counter;
  readonly promptTokens: Counter;
  readonly timeToFirstToken: Histogram;
  readonly requestDuration: Histogram;
  readonly responses: Counter<'status'>;
  readonly cancelled: Counter<'reason'>;
  /** [second, tokens] of the last RATE_WINDOW seconds. */
  private readonly recent: [number, number][] = [];

  constructor(scheduler: SchedulerGauges) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'urgate_process_' });
    new Gauge({
      name: 'urgate_queue_depth',
      help: 'Requests waiting for a batch row',
      registers,
      collect() {
        this.set(scheduler.queued());
      },
    });
    new Gauge({
      name: 'urgate_active_sequences',
      help: 'Sequences in the workers’ batches (prefilling or decoding)',
      registers,
      collect() {
        this.set(scheduler.active());
      },
    });
    const rate = () => this.tokensPerSecond();
    new Gauge({
      name: 'urgate_generation_tokens_per_second',
      help: `Generated tokens per second over the last ${RATE_WINDOW} s`,
      registers,
      collect() {
        this.set(rate());
      },
    });
    this.batchSize = new Histogram({
      name: 'urgate_batch_size',
      help: 'Sequences advanced by one step-graph call',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.generatedTokens = new Counter({
      name: 'urgate_generated_tokens_total',
      help: 'Tokens sampled',
      registers,
    });
    this.promptTokens = new Counter({
      name: 'urgate_prompt_tokens_total',
      help: 'Prompt tokens of accepted requests',
      registers,
    });
    this.timeToFirstToken = new Histogram({
      name: 'urgate_time_to_first_token_seconds',
      help: 'From a completion request’s arrival to its first sampled token',
      buckets: SECONDS,
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'urgate_request_duration_seconds',
      help: 'From a completion request’s arrival to its last byte',
      buckets: SECONDS,
      registers,
    });
    this.responses = new Counter({
      name: 'urgate_responses_total',
      help: 'HTTP responses by status code',
      labelNames: ['status'],
      registers,
    });
    this.cancelled = new Counter({
      name: 'urgate_cancelled_requests_total',
      help: 'Completion requests stopped before they finished, by reason',
      labelNames: ['reason'],
      registers,
    });
  }

  /** One worker iteration. */
  step(batch: number, sampled: number): void {
    if (batch > 0) this.batchSize.observe(batch);
    if (sampled === 0) return;
    this.generatedTokens.inc(sampled);
    const second = Math.floor(performance.now() / 1000);
    const last = this.recent.at(-1);
    if (last && last[0] === second) last[1] += sampled;
    else this.recent.push([second, sampled]);
  }

  private tokensPerSecond(): number {
    const now = performance.now() / 1000;
    while (this.recent.length > 0 && this.recent[0][0] <= now - RATE_WINDOW) this.recent.shift();
    return this.recent.reduce((s, [, n]) => s + n, 0) / RATE_WINDOW;
  }
}
