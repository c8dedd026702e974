// The summary of a language-model training run, as `urgate train lm` and the demo print it.

const fmt = (x: number) => x.toFixed(2);

/** A few lines: steps and speed, then valid/test perplexities (or where it diverged). */
export function describeLmRun(r: import('@urgate/train/lm').LmRunResult): string {
  if (r.outcome === 'diverged')
    return `diverged at step ${r.divergence?.step}: ${r.divergence?.reason}`;
  const lines = [
    `${r.config.mechanism}${r.config.core.toUpperCase()} (${r.config.engine} engine): ${r.steps} steps (${r.epochs.toFixed(2)} epochs) in ${r.trainSeconds.toFixed(0)} s, ${r.tokensPerSecond.toFixed(0)} tokens/s`,
  ];
  if (r.valid)
    lines.push(
      `valid: word ppl ${fmt(r.valid.wordPerplexity)}, token ppl ${fmt(r.valid.tokenPerplexity)}, ${r.valid.bitsPerByte.toFixed(3)} bits/byte`,
    );
  if (r.test)
    lines.push(
      `test:  word ppl ${fmt(r.test.wordPerplexity)}, token ppl ${fmt(r.test.tokenPerplexity)}, ${r.test.bitsPerByte.toFixed(3)} bits/byte`,
    );
  if (Number.isFinite(r.scoringTokensPerSecond))
    lines.push(`evaluation scored ${r.scoringTokensPerSecond.toFixed(0)} tokens/s`);
  return lines.join('\n');
}
