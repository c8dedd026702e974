// Prometheus series of the prefix state cache, read from its counters at each scrape.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { StateCache, StateCacheStats } from './state-cache.js';

export function registerStateCacheMetrics(registry: Registry, cache: StateCache): void {
  const registers = [registry];
  const counter = (name: string, help: string, read: (s: StateCacheStats) => number) => {
    let seen = 0;
    new Counter({
      name,
      help,
      registers,
      collect() {
        const now = read(cache.snapshot());
        this.inc(now - seen);
        seen = now;
      },
    });
  };
  const gauge = (name: string, help: string, read: (s: StateCacheStats) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(cache.snapshot()));
      },
    });
  counter(
    'urgate_state_cache_hits_total',
    'Sequences whose prompt extended a cached state (prefilled from there)',
    (s) => s.hits,
  );
  counter(
    'urgate_state_cache_misses_total',
    'Sequences looked up in the state cache without a cached prefix',
    (s) => s.misses,
  );
  counter(
    'urgate_state_cache_tokens_saved_total',
    'Prompt tokens not prefilled because a cached state had read them',
    (s) => s.tokensSaved,
  );
  counter(
    'urgate_state_cache_evictions_total',
    'States dropped from the cache to stay within its budget',
    (s) => s.evictions,
  );
  gauge('urgate_state_cache_bytes', 'Bytes the state cache holds', (s) => s.bytes);
  gauge(
    'urgate_state_cache_budget_bytes',
    'The state cache budget (--state-cache-mb)',
    (s) => s.budget,
  );
  gauge('urgate_state_cache_entries', 'States in the cache', (s) => s.entries);
}
