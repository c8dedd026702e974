/**
 * Sums per-token negative log-likelihoods (natural log) in float64 with Kahan compensation,
 * so that 10^8 float32 terms do not lose precision.
 */
export class NllAccumulator {
  private sum = 0;
  private compensation = 0;
  count = 0;

  /** Adds nll[i] wherever mask is absent or mask[i] != 0. */
  add(nll: ArrayLike<number>, mask?: ArrayLike<number>): void {
    if (mask && mask.length !== nll.length) {
      throw new Error(`mask has ${mask.length} entries but nll has ${nll.length}`);
    }
    for (let i = 0; i < nll.length; i++) {
      if (mask && !mask[i]) continue;
      const y = nll[i] - this.compensation;
      const t = this.sum + y;
      this.compensation = t - this.sum - y;
      this.sum = t;
      this.count++;
    }
  }

  get total(): number {
    return this.sum;
  }
}

export interface PerplexityCounts {
  /** Tokens the NLL was summed over (model tokens: words or subword pieces, `<eos>` included). */
  tokens: number;
  /** Words incl. one `<eos>` per line (manifest counts.words): the conventional N. */
  words: number;
  /** UTF-8 bytes of the split text (manifest counts.bytes). */
  bytes: number;
}

export interface PerplexityReport {
  totalNll: number;
  nllPerToken: number;
  tokenPerplexity: number;
  /** exp(total NLL / N_words): comparable across word and subword tokenizers. */
  wordPerplexity: number;
  bitsPerByte: number;
}

export function perplexityReport(totalNll: number, counts: PerplexityCounts): PerplexityReport {
  for (const key of ['tokens', 'words', 'bytes'] as const) {
    if (!(counts[key] > 0)) throw new Error(`counts.${key} must be positive, got ${counts[key]}`);
  }
  if (!Number.isFinite(totalNll) || totalNll < 0)
    throw new Error(`totalNll must be finite and >= 0, got ${totalNll}`);
  return {
    totalNll,
    nllPerToken: totalNll / counts.tokens,
    tokenPerplexity: Math.exp(totalNll / counts.tokens),
    wordPerplexity: Math.exp(totalNll / counts.words),
    bitsPerByte: totalNll / Math.LN2 / counts.bytes,
  };
}

/**
 * A split as the one stream reported perplexities score (the convention of `evalBatches`): the
 * split's ids preceded by one end-of-line token, with the state reset where each article
 * starts (stream position article start + 1).
 */
export function scoringStream(
  split: { ids: Int32Array; articleStarts: Uint32Array },
  eosId: number,
): { tokens: Int32Array; resets: Uint8Array } {
  const tokens = new Int32Array(split.ids.length + 1);
  tokens[0] = eosId;
  tokens.set(split.ids, 1);
  const resets = new Uint8Array(tokens.length);
  for (const start of split.articleStarts) resets[start + 1] = 1;
  return { tokens, resets };
}
