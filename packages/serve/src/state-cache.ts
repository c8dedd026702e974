// The prefix state cache: a recurrent model's whole memory of a text is its state (h, c per layer,
// the same size after ten tokens or a million), so the state reached after a token sequence lets a
// later request that starts with that sequence read only the rest. Entries are keyed by their exact
// token sequence (a rolling hash of every prefix finds candidates, the stored tokens confirm them)
// and kept in an LRU bounded in bytes.
import type { RowState } from '@urgate/onnx/runtime';

/** Bytes an entry costs beyond its floats and tokens (map entry, objects, key string). */
const ENTRY_OVERHEAD = 256;

interface Entry {
  key: string;
  tokens: Int32Array;
  state: RowState;
  bytes: number;
}

/** A cached state and how many leading tokens of the looked-up sequence it has read. */
export interface CacheHit {
  length: number;
  state: RowState;
}

export interface StateCacheStats {
  entries: number;
  bytes: number;
  budget: number;
  hits: number;
  misses: number;
  tokensSaved: number;
  evictions: number;
}

/** Two 32-bit polynomial hashes of every prefix of `tokens` (up to `limit`), as map keys. */
function prefixKeys(
  tokens: ArrayLike<number>,
  limit: number,
  lengths: { has(n: number): boolean },
): string[] {
  const keys: string[] = [];
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < limit; i++) {
    a = (Math.imul(a, 0x01000193) + tokens[i] + 1) | 0;
    b = (Math.imul(b ^ (tokens[i] + 0x5bd1e995), 0x27d4eb2d) + i) | 0;
    if (lengths.has(i + 1)) keys[i + 1] = `${i + 1}:${a >>> 0}:${b >>> 0}`;
  }
  return keys;
}

function stateBytes(state: RowState): number {
  return state.h.byteLength + (state.c?.byteLength ?? 0);
}

export class StateCache {
  /** Most recently used last. */
  private readonly entries = new Map<string, Entry>();
  /** How many entries have each token length: only those prefix lengths are looked up. */
  private readonly lengths = new Map<number, number>();
  private used = 0;
  private stats = { hits: 0, misses: 0, tokensSaved: 0, evictions: 0 };

  /** `budget`: bytes of states, tokens and bookkeeping the cache may hold; 0 turns it off. */
  constructor(readonly budget: number) {
    if (!(Number.isInteger(budget) && budget >= 0))
      throw new Error(`state cache budget must be a non-negative integer of bytes, got ${budget}`);
  }

  get enabled(): boolean {
    return this.budget > 0;
  }

  /**
   * The cached state that has read the longest prefix of `tokens` no longer than `limit` tokens
   * (counted as a hit or a miss), or null. The state is the cache's own: copy before changing it.
   */
  lookup(tokens: readonly number[], limit: number): CacheHit | null {
    if (!this.enabled) return null;
    const keys = prefixKeys(tokens, Math.min(limit, tokens.length), this.lengths);
    for (let n = keys.length - 1; n > 0; n--) {
      const key = keys[n];
      const entry = key === undefined ? undefined : this.entries.get(key);
      if (!entry?.tokens.every((t, i) => t === tokens[i])) continue;
      this.entries.delete(key);
      this.entries.set(key, entry);
      this.stats.hits++;
      this.stats.tokensSaved += n;
      return { length: n, state: entry.state };
    }
    this.stats.misses++;
    return null;
  }

  /** Keeps the state reached after reading `tokens` (at least one), evicting the least recently used. */
  insert(tokens: readonly number[], state: RowState): void {
    if (!this.enabled || tokens.length === 0) return;
    const bytes = stateBytes(state) + 4 * tokens.length + ENTRY_OVERHEAD;
    if (bytes > this.budget) return;
    const key = prefixKeys(tokens, tokens.length, new Set([tokens.length]))[tokens.length];
    const old = this.entries.get(key);
    if (old) this.remove(old);
    this.entries.set(key, { key, tokens: Int32Array.from(tokens), state, bytes });
    this.used += bytes;
    this.lengths.set(tokens.length, (this.lengths.get(tokens.length) ?? 0) + 1);
    for (const oldest of this.entries.values()) {
      if (this.used <= this.budget) break;
      this.remove(oldest);
      this.stats.evictions++;
    }
  }

  snapshot(): StateCacheStats {
    return { entries: this.entries.size, bytes: this.used, budget: this.budget, ...this.stats };
  }

  private remove(entry: Entry): void {
    this.entries.delete(entry.key);
    this.used -= entry.bytes;
    const n = entry.tokens.length;
    const left = (this.lengths.get(n) ?? 1) - 1;
    if (left > 0) this.lengths.set(n, left);
    else this.lengths.delete(n);
  }
}
