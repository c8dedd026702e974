import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readLines } from './lines.js';
import { readParquetTextLines } from './parquet.js';
import type { TextOptions } from './text.js';

export type SplitName = 'train' | 'valid' | 'test';
export const SPLITS: readonly SplitName[] = ['train', 'valid', 'test'];

/** Hugging Face's names for the splits. */
const PARQUET_SPLIT: Record<SplitName, string> = {
  train: 'train',
  valid: 'validation',
  test: 'test',
};

export type SourceFormat = 'tokens' | 'raw' | 'parquet';

export interface SplitSource {
  split: SplitName;
  format: SourceFormat;
  /** Absolute or dir-relative paths in reading order (parquet shards sorted by name). */
  files: string[];
}

function isParquetShardOf(name: string, split: SplitName): boolean {
  const prefix = PARQUET_SPLIT[split];
  return (
    name.endsWith('.parquet') && (name === `${prefix}.parquet` || name.startsWith(`${prefix}-`))
  );
}

/**
 * Finds the files of one split in `dir`: `wiki.<split>.tokens`, else `wiki.<split>.raw`, else
 * parquet shards named after the Hugging Face split (`validation-00000-of-00001.parquet`, ...).
 */
export async function locateSplit(dir: string, split: SplitName): Promise<SplitSource> {
  if (!SPLITS.includes(split)) {
    throw new Error(`split must be one of ${SPLITS.join(', ')}, got ${JSON.stringify(split)}`);
  }
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    throw new Error(`data directory ${dir} does not exist or cannot be read`);
  }
  for (const format of ['tokens', 'raw'] as const) {
    const name = `wiki.${split}.${format}`;
    if (names.includes(name) && (await stat(join(dir, name))).isFile()) {
      return { split, format, files: [join(dir, name)] };
    }
  }
  const shards = names.filter((name) => isParquetShardOf(name, split)).sort();
  if (shards.length > 0)
    return { split, format: 'parquet', files: shards.map((n) => join(dir, n)) };
  throw new Error(
    `no ${split} split in ${dir}: expected wiki.${split}.tokens, wiki.${split}.raw or ${PARQUET_SPLIT[split]}*.parquet`,
  );
}

/**
 * Streams the lines of a split, each without its newline. Parquet's blank rows ("") come
 * back as the " " of the text releases, so all formats of one release yield identical lines.
 */
export async function* readSourceLines(
  source: SplitSource,
  options: TextOptions = {},
): AsyncGenerator<string> {
  for (const file of source.files) {
    yield* source.format === 'parquet'
      ? readParquetTextLines(file, options)
      : readLines(file, options);
  }
}

/** Convenience: locate and stream a split in one call. */
export async function* readSplitLines(
  dir: string,
  split: SplitName,
  options: TextOptions = {},
): AsyncGenerator<string> {
  yield* readSourceLines(await locateSplit(dir, split), options);
}
