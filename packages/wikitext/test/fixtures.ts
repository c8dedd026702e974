import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';

/**
 * A small WikiText-format corpus: headings at all three levels, blank lines, `@-@ @,@ @.@`,
 * non-ASCII words, literal `<unk>`. Counts below were worked out by hand, line by line
 * (words + 1 `<eos>` per line):
 *   1 " "                                    0+1 =  1   (tokens before: 0)
 *   2 " = Alpha Article = "                  4+1 =  5   article start at token 1
 *   3 " "                                    1
 *   4 " The café costs 1 @,@ 000 € . "       8+1 =  9
 *   5 " "                                    1
 *   6 " = = Section one = = "                6+1 =  7   (section, not an article)
 *   7 " "                                    1
 *   8 " Naïve well @-@ known <unk> text . "  7+1 =  8
 *   9 " "                                    1
 *  10 " = = = Deep = = = "                   7+1 =  8
 *  11 " "                                    1
 *  12 " Zürich has 3 @.@ 5 km . "            7+1 =  8
 *  13 " "                                    1          (tokens before line 14: 52)
 *  14 " = Beta = "                           3+1 =  4   article start at token 52
 *  15 " "                                    1
 *  16 " 日本 語 text <unk> . "               5+1 =  6
 *  17 " "                                    1
 * = 17 lines, 64 tokens, 2 articles.
 */
const TRAIN_LINES = [
  ' ',
  ' = Alpha Article = ',
  ' ',
  ' The café costs 1 @,@ 000 € . ',
  ' ',
  ' = = Section one = = ',
  ' ',
  ' Naïve well @-@ known <unk> text . ',
  ' ',
  ' = = = Deep = = = ',
  ' ',
  ' Zürich has 3 @.@ 5 km . ',
  ' ',
  ' = Beta = ',
  ' ',
  ' 日本 語 text <unk> . ',
  ' ',
];
export const TRAIN_COUNTS = { lines: 17, tokens: 64, articles: 2, articleStarts: [1, 52] };

/** " "(1) " = Gamma = "(4) " "(1) " Unseen words here . "(5) " "(1): 5 lines, 12 tokens. */
const VALID_LINES = [' ', ' = Gamma = ', ' ', ' Unseen words here . ', ' '];
export const VALID_COUNTS = { lines: 5, tokens: 12, articles: 1, articleStarts: [1] };

/** " = Delta = "(4) " The end . "(4): 2 lines, 8 tokens, article at 0. */
const TEST_LINES = [' = Delta = ', ' The end . '];
export const TEST_COUNTS = { lines: 2, tokens: 8, articles: 1, articleStarts: [0] };

export const FIXTURE: Record<'train' | 'valid' | 'test', string[]> = {
  train: TRAIN_LINES,
  valid: VALID_LINES,
  test: TEST_LINES,
};

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'urgate-wikitext-test-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export function fileText(lines: readonly string[]): string {
  return lines.map((l) => `${l}\n`).join('');
}

/** wiki.{train,valid,test}.<ext> in dir. */
export async function writeTextRelease(dir: string, ext: 'tokens' | 'raw'): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [split, lines] of Object.entries(FIXTURE)) {
    await writeFile(join(dir, `wiki.${split}.${ext}`), fileText(lines));
  }
}

/** Hugging Face's form of a line: blank lines "", others with their "\n". */
function hfRow(line: string): string {
  return line.trim() === '' ? '' : `${line}\n`;
}

export function writeParquet(path: string, rows: string[], rowGroupSize = 4): void {
  parquetWriteFile({
    filename: path,
    columnData: [{ name: 'text', data: rows, type: 'STRING' }],
    rowGroupSize,
  });
}

/** Hugging Face layout: train in two shards (several row groups each), validation, test. */
async function writeParquetRelease(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const train = TRAIN_LINES.map(hfRow);
  writeParquet(join(dir, 'train-00000-of-00002.parquet'), train.slice(0, 9));
  writeParquet(join(dir, 'train-00001-of-00002.parquet'), train.slice(9));
  writeParquet(join(dir, 'validation-00000-of-00001.parquet'), VALID_LINES.map(hfRow));
  writeParquet(join(dir, 'test-00000-of-00001.parquet'), TEST_LINES.map(hfRow));
}

/** A temporary root with the fixture released in each given form, in <root>/<form>. */
export async function releases(...forms: ('tokens' | 'raw' | 'parquet')[]): Promise<string> {
  const root = await tempDir();
  for (const form of forms)
    if (form === 'parquet') await writeParquetRelease(join(root, form));
    else await writeTextRelease(join(root, form), form);
  return root;
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
