import { stepRows, zeroRowState } from './batch.js';
import { batchSampler } from './sampler.js';
import { rowSeed, type SamplingOptions, seededUniform } from './sampling.js';
import { checkToken, requireGraph, type UrgateModel } from './session.js';

export interface GenerateOptions extends Partial<SamplingOptions> {
  /** Tokens to sample after each prompt. */
  maxTokens: number;
  /** Seed of the sampler (default 0); each row draws from its own stream derived from it. */
  seed?: number;
  /** A row stops after sampling this token (e.g. `<eos>`); it is included in the row's output. */
  stopToken?: number;
  /** [token, bias] added to the logits every row samples from (-Infinity: never sampled). */
  logitBias?: readonly [number, number][];
}

function checkOptions(
  model: UrgateModel,
  prompts: number[][],
  opts: GenerateOptions,
): SamplingOptions {
  const temperature = opts.temperature ?? 1;
  const topK = opts.topK ?? 0;
  const topP = opts.topP ?? 1;
  if (!Array.isArray(prompts) || prompts.length === 0)
    throw new Error('generate: prompts must be a non-empty array of token arrays');
  prompts.forEach((p, b) => {
    if (!Array.isArray(p) || p.length === 0)
      throw new Error(
        `generate: prompt ${b} is empty; start it with at least one token (e.g. <eos>)`,
      );
    p.forEach((t, i) => {
      checkToken(model, t, () => `prompt ${b} position ${i}`, 'generate');
    });
  });
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 0)
    throw new Error(`generate: maxTokens must be a non-negative integer, got ${opts.maxTokens}`);
  if (!(temperature >= 0))
    throw new Error(`generate: temperature must be >= 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0)
    throw new Error(`generate: topK must be a non-negative integer, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`generate: topP must be in (0, 1], got ${topP}`);
  if (opts.stopToken !== undefined)
    checkToken(model, opts.stopToken, () => 'stopToken', 'generate');
  for (const [token] of opts.logitBias ?? [])
    checkToken(model, token, () => 'logitBias', 'generate');
  return { temperature, topK, topP };
}

/**
 * Samples continuations of a batch of prompts with the step graph. Row b reads its own prompt, then
 * its own samples; rows are independent. Returns the sampled tokens of each row (without the prompt).
 */
export async function generate(
  model: UrgateModel,
  prompts: number[][],
  opts: GenerateOptions,
): Promise<number[][]> {
  requireGraph(model, 'lm-step', 'generate');
  const sampling = checkOptions(model, prompts, opts);
  // One random stream per row: a row's samples do not depend on when the other rows stop.
  const seed = opts.seed ?? 0;
  const uniforms = prompts.map((_, b) => seededUniform(rowSeed(seed, b)));
  const V = model.metadata.model.vocabSize as number;
  const out: number[][] = prompts.map(() => []);
  const states = prompts.map(() => zeroRowState(model));
  const sampler = await batchSampler();
  // Rows still running; a row leaves the batch when it is done.
  let active = opts.maxTokens === 0 ? [] : prompts.map((_, b) => b);
  for (let t = 0; active.length > 0; t++) {
    const tokens = active.map((b) =>
      t < prompts[b].length ? prompts[b][t] : (out[b].at(-1) as number),
    );
    const logits = await stepRows(
      model,
      tokens,
      active.map((b) => states[b]),
    );
    for (const [token, bias] of opts.logitBias ?? [])
      for (let i = 0; i < active.length; i++) logits[i * V + token] += bias;
    const sampled = await sampler.sample(
      logits,
      V,
      active.map((b) =>
        t < prompts[b].length - 1 ? null : { options: sampling, uniform: uniforms[b] },
      ),
    );
    active = active.filter((b, i) => {
      if (t < prompts[b].length - 1) return true;
      out[b].push(sampled[i]);
      return !(out[b].length >= opts.maxTokens || sampled[i] === opts.stopToken);
    });
  }
  return out;
}
