// The test split scored by an exported sequence graph as the trainer scores it, for the tests
// that hold the export to the trainer's numbers.
import { openModel, scoreTokens } from '@urgate/onnx/runtime';
import { cacheTokenizer, loadLmSplit } from '../src/lm/data.js';

/** The test split's NLL from onnxruntime: one stream after `<eos>`, the state reset at each article. */
export async function onnxTestNll(cache: string, sequenceGraph: string): Promise<number> {
  const tokenizer = await cacheTokenizer(cache);
  const test = await loadLmSplit(cache, 'test', tokenizer);
  const tokens = [tokenizer.eosId, ...test.ids];
  const resets = new Uint8Array(tokens.length);
  for (const a of test.articleStarts) resets[a + 1] = 1;
  const scored = await scoreTokens(await openModel(sequenceGraph), tokens, {
    resets,
    words: test.manifest.counts.words,
  });
  return scored.nll;
}
