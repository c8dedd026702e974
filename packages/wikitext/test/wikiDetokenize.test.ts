import { describe, expect, it } from 'vitest';
import { wikitextDetokenize, wikitextTokenize } from '../src/index.js';

describe('wikitextDetokenize', () => {
  it('renders a WikiText-103 line as prose', () => {
    const line =
      ' The game \'s budget was $ 1 @,@ 000 @.@ 5 million , and it was well @-@ received ( in " most " reviews ) ; critics did n\'t agree . ';
    expect(wikitextDetokenize(line.trim().split(' '))).toBe(
      'The game\'s budget was $1,000.5 million, and it was well-received (in "most" reviews); critics didn\'t agree.',
    );
  });

  it('a possessive apostrophe after a plural attaches to it; headings keep their spaces', () => {
    expect(wikitextDetokenize(['the', 'states', "'", 'rights'])).toBe("the states' rights");
    expect(wikitextDetokenize('= = Early life = ='.split(' '))).toBe('= = Early life = =');
  });

  it('is the inverse of wikitextTokenize on ordinary text', () => {
    for (const text of [
      'The well-known "Act," costs $1,250.75 (about 3.5%).',
      "We don't know Mr. Smith's plan for the U.S. economy; it's 2,000 pages!",
      'Is it [really] over? Yes: 12.5 per cent, said the 3-year-old.',
    ])
      expect(wikitextDetokenize(wikitextTokenize(text))).toBe(text);
  });
});
