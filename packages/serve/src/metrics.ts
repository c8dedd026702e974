// Prometheus metrics (prom-client), one registry per server so that several servers in a process
// do not share counters.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

const GAUGES_NAMED_AS_COUNTERS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

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
  readonly rejected: Counter<'reason'>;
  readonly queueWait: Histogram;
  /** [second, tokens] of the last RATE_WINDOW seconds. */
  private readonly recent: [number, number][] = [];

  constructor(scheduler: SchedulerGauges) {
    const registers = [this.registry];
    // prom-client's process and Node.js metrics under their standard names (what stock dashboards
    // and alerts query), less the three gauges named `nodejs_active_*_total`: a `_total` suffix
    // marks a counter (`promtool check metrics` refuses them), and their per-type gauges
    // `nodejs_active_{handles,requests,resources}` carry the same counts.
    collectDefaultMetrics({ register: this.registry });
    for (const name of GAUGES_NAMED_AS_COUNTERS) this.registry.removeSingleMetric(name);
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
    this.rejected = new Counter({
      name: 'urgate_rejected_requests_total',
      help: 'Completion requests answered 429: queue_full (--max-queue), estimated_wait (refused on arrival, --max-queue-wait), queue_timeout (taken out of the queue at --max-queue-wait)',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of ['queue_full', 'estimated_wait', 'queue_timeout'])
      this.rejected.inc({ reason }, 0);
    this.queueWait = new Histogram({
      name: 'urgate_queue_wait_seconds',
      help: 'From a completion request’s arrival in the queue to its last sequence joining a batch',
      buckets: SECONDS,
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
