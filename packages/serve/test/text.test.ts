// Prompt text -> token ids -> text, for the word tokenizer of a WikiText-form corpus.
import { buildWordVocab, WordTokenizer, wikitextTokenize } from '@urgate/wikitext';
import { describe, expect, it } from 'vitest';
import { Detokenizer, detokenize, encodePrompt } from '../src/index.js';

const PROSE = [
  'The budget, about $1,250.75 (3.5% more), was well-received.',
  "We don't know Mr. Smith's plan; it's \"late\" again!",
  'User: hello there',
  'Assistant: it cost 12,000 dollars.',
];
const counts = new Map<string, number>();
for (const line of PROSE) for (const w of wikitextTokenize(line)) counts.set(w, 1);
const tokenizer = new WordTokenizer(buildWordVocab(counts));

describe('prompt text <-> tokens', () => {
  it('a prompt encodes to the WikiText form of each line and renders back to itself', () => {
    const prompt = PROSE.join('\n');
    const ids = encodePrompt(tokenizer, prompt);
    expect(ids[0]).toBe(tokenizer.eosId);
    expect(tokenizer.decode(ids.slice(1)).split('\n')[0]).toBe(
      'The budget , about $ 1 @,@ 250 @.@ 75 ( 3 @.@ 5 % more ) , was well @-@ received .',
    );
    expect(ids).not.toContain(tokenizer.unkId);
    expect(detokenize(tokenizer, ids)).toBe(prompt);
  });

  it("keeps a prompt's final newline as <eos>", () => {
    const ids = encodePrompt(tokenizer, 'User: hello there\n');
    expect(ids.at(-1)).toBe(tokenizer.eosId);
    expect(ids.filter((t) => t === tokenizer.eosId)).toHaveLength(2);
    expect(detokenize(tokenizer, ids)).toBe('User: hello there\n');
  });

  it('a continuation renders in the context of its prompt: pieces join to the whole text', () => {
    const prompt = encodePrompt(tokenizer, 'The budget (about');
    const more = encodePrompt(tokenizer, 'The budget (about $1,250.75) was "late".').slice(
      prompt.length,
    );
    const d = new Detokenizer(tokenizer, prompt);
    const pieces = more.map((t) => d.push(t));
    expect(pieces.join('') + d.flush()).toBe(' $1,250.75) was "late".');
    // The text a token adds does not depend on whether it was peeked first.
    const e = new Detokenizer(tokenizer, prompt);
    expect(more.map((t) => [e.peek(t), e.push(t)][1])).toEqual(pieces);
  });
});
