import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { AtomicStreamWriter, writeFileAtomic } from '@urgate/files';
import { isArticleHeading, lineWords } from './article.js';
import { sha256File } from './checksum.js';
import {
  locateSplit,
  readSourceLines,
  type SourceFormat,
  type SplitName,
  type SplitSource,
} from './splits.js';
import {
  describeTokenizer,
  sameTokenizer,
  type Tokenizer,
  type TokenizerIdentity,
} from './tokenizer.js';
import { WordTokenizer } from './wordVocab.js';

export interface SourceFileIdentity {
  file: string;
  bytes: number;
  sha256: string;
}

export interface SplitCounts {
  /** Lines of the split, blank lines included. */
  lines: number;
  /** Token ids written, one end-of-line id per line included. */
  tokens: number;
  /** Whitespace-separated words plus one `<eos>` per line: the word-level perplexity's N. */
  words: number;
  /** UTF-8 bytes of the lines, one "\n" each (= the size of the `.tokens` file): bits-per-byte's N. */
  bytes: number;
  articles: number;
}

export interface SplitManifest {
  format: 'urgate-wikitext-cache';
  version: 1;
  split: SplitName;
  sourceFormat: SourceFormat;
  sources: SourceFileIdentity[];
  tokenizer: TokenizerIdentity;
  counts: SplitCounts;
  /** Little-endian Int32 token ids, file name relative to the cache directory. */
  idsFile: string;
  /** Little-endian Uint32 token offsets at which an article's heading line starts. */
  articlesFile: string;
}

export interface PreparedSplit {
  manifest: SplitManifest;
  ids: Int32Array;
  articleStarts: Uint32Array;
}

export type MismatchPolicy = 'rebuild' | 'error';

export interface PrepareSplitOptions {
  dataDir: string;
  split: SplitName;
  tokenizer: Tokenizer;
  cacheDir: string;
  /** What to do with a cache made by another tokenizer (default: rebuild, saying why). */
  onTokenizerMismatch?: MismatchPolicy;
  onLog?: (message: string) => void;
  /** Called about every million tokens and at the end while a cache is built. */
  onProgress?: (progress: PrepareProgress) => void;
}

export interface PrepareProgress {
  split: SplitName;
  lines: number;
  /** Text bytes read so far (counts.bytes). */
  bytes: number;
  /** Size of the source files when they are text (then bytes / totalBytes is the fraction done); null for parquet. */
  totalBytes: number | null;
}

export interface PrepareSplitResult {
  manifest: SplitManifest;
  rebuilt: boolean;
  /** Why the cache was (re)built, or that it was reused. */
  reason: string;
}

const FLUSH_TOKENS = 1 << 20;

export function manifestPath(cacheDir: string, split: SplitName): string {
  return join(cacheDir, `${split}.json`);
}

export async function identifySources(source: SplitSource): Promise<SourceFileIdentity[]> {
  return Promise.all(
    source.files.map(async (file) => ({
      file: basename(file),
      bytes: (await stat(file)).size,
      sha256: await sha256File(file),
    })),
  );
}

function sameSources(a: SourceFileIdentity[], b: SourceFileIdentity[]): boolean {
  return (
    a.length === b.length &&
    a.every((s, i) => s.file === b[i].file && s.bytes === b[i].bytes && s.sha256 === b[i].sha256)
  );
}

async function readManifest(path: string): Promise<SplitManifest | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  let manifest: SplitManifest;
  try {
    manifest = JSON.parse(text) as SplitManifest;
  } catch (err) {
    throw new Error(`${path} is not valid JSON (${(err as Error).message})`);
  }
  if (manifest?.format !== 'urgate-wikitext-cache' || manifest.version !== 1) {
    throw new Error(`${path} is not an urgate-wikitext-cache version 1 manifest`);
  }
  return manifest;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return -1;
  }
}

/** Why an existing cache cannot be reused, or null when it can. Throws under policy 'error'. */
async function staleReason(
  cacheDir: string,
  old: SplitManifest | null,
  sources: SourceFileIdentity[],
  tokenizer: TokenizerIdentity,
  policy: MismatchPolicy,
): Promise<string | null> {
  if (!old) return 'no cache yet';
  if (!sameSources(old.sources, sources)) {
    return `source files changed (${old.sources.map((s) => s.file).join(', ')} -> ${sources.map((s) => s.file).join(', ')}, sha256 or size differs)`;
  }
  if (!sameTokenizer(old.tokenizer, tokenizer)) {
    const why = `cache ${manifestPath(cacheDir, old.split)} was built with the ${describeTokenizer(old.tokenizer)}, but the ${describeTokenizer(tokenizer)} was requested`;
    if (policy === 'error')
      throw new Error(`${why}; delete the cache directory or allow a rebuild`);
    return why;
  }
  if ((await fileSize(join(cacheDir, old.idsFile))) !== old.counts.tokens * 4)
    return `${old.idsFile} is missing or truncated`;
  if ((await fileSize(join(cacheDir, old.articlesFile))) !== old.counts.articles * 4) {
    return `${old.articlesFile} is missing or truncated`;
  }
  return null;
}

/**
 * Tokenizes one split into `<cacheDir>/<split>.ids.i32` and `<split>.articles.u32` with a
 * manifest `<split>.json`, streaming (memory bounded by one line plus a 4 MiB buffer), unless
 * the cache there already came from the same source bytes (sha256) and the same tokenizer.
 */
export async function prepareSplit(options: PrepareSplitOptions): Promise<PrepareSplitResult> {
  const { dataDir, split, tokenizer, cacheDir } = options;
  const source = await locateSplit(dataDir, split);
  const sources = await identifySources(source);
  const mpath = manifestPath(cacheDir, split);
  let old: SplitManifest | null = null;
  let reason: string | null;
  try {
    old = await readManifest(mpath);
    reason = await staleReason(
      cacheDir,
      old,
      sources,
      tokenizer.identity,
      options.onTokenizerMismatch ?? 'rebuild',
    );
  } catch (err) {
    if (old) throw err; // the tokenizer-mismatch refusal
    reason = `existing manifest unusable: ${(err as Error).message}`;
  }
  if (old && reason === null)
    return { manifest: old, rebuilt: false, reason: 'reused: sources and tokenizer unchanged' };
  options.onLog?.(`preparing ${split} split from ${source.files.join(', ')}: ${reason}`);

  await mkdir(cacheDir, { recursive: true });
  // The old manifest goes first, so a crash mid-build never pairs it with new data files.
  await rm(mpath, { force: true });
  const idsFile = `${split}.ids.i32`;
  const articlesFile = `${split}.articles.u32`;
  const idsOut = new AtomicStreamWriter(join(cacheDir, idsFile));
  const counts: SplitCounts = { lines: 0, tokens: 0, words: 0, bytes: 0, articles: 0 };
  const articleStarts: number[] = [];
  const eos = tokenizer.eosId;
  const wordTokenizer = tokenizer instanceof WordTokenizer ? tokenizer : null;
  let buffer = new Int32Array(FLUSH_TOKENS);
  let filled = 0;
  const totalBytes = source.format === 'parquet' ? null : sources.reduce((n, s) => n + s.bytes, 0);
  const flush = async () => {
    await idsOut.write(new Uint8Array(buffer.buffer, 0, filled * 4));
    buffer = new Int32Array(FLUSH_TOKENS);
    filled = 0;
    options.onProgress?.({ split, lines: counts.lines, bytes: counts.bytes, totalBytes });
  };
  try {
    for await (const line of readSourceLines(source)) {
      const words = lineWords(line);
      counts.lines++;
      counts.words += words.length + 1;
      counts.bytes += Buffer.byteLength(line) + 1;
      if (isArticleHeading(words)) articleStarts.push(counts.tokens);
      const ids = wordTokenizer ? wordTokenizer.encodeWords(words) : tokenizer.encodeLine(line);
      if (filled + ids.length + 1 > buffer.length) {
        await flush();
        if (ids.length + 1 > buffer.length) buffer = new Int32Array(ids.length + 1);
      }
      buffer.set(ids, filled);
      buffer[filled + ids.length] = eos;
      filled += ids.length + 1;
      counts.tokens += ids.length + 1;
    }
    if (counts.lines === 0)
      throw new Error(`${split} split is empty: ${source.files.join(', ')} has no lines`);
    await flush();
    await idsOut.commit();
  } catch (err) {
    await idsOut.abort();
    throw err;
  }
  counts.articles = articleStarts.length;
  const starts = Uint32Array.from(articleStarts);
  await writeFileAtomic(join(cacheDir, articlesFile), new Uint8Array(starts.buffer));
  const manifest: SplitManifest = {
    format: 'urgate-wikitext-cache',
    version: 1,
    split,
    sourceFormat: source.format,
    sources,
    tokenizer: tokenizer.identity,
    counts,
    idsFile,
    articlesFile,
  };
  await writeFileAtomic(mpath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, rebuilt: true, reason: reason ?? 'rebuilt' };
}

async function readTyped(path: string, bytes: number): Promise<ArrayBuffer> {
  const out = new ArrayBuffer(bytes);
  const handle = await open(path, 'r');
  try {
    let offset = 0;
    while (offset < bytes) {
      const { bytesRead } = await handle.read(
        new Uint8Array(out, offset, Math.min(bytes - offset, 1 << 26)),
        0,
      );
      if (bytesRead === 0)
        throw new Error(`${path} is shorter than its manifest says (${offset} of ${bytes} bytes)`);
      offset += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return out;
}

/** Loads a split prepared by prepareSplit (ids and article starts fully in memory). */
export async function loadPreparedSplit(
  cacheDir: string,
  split: SplitName,
): Promise<PreparedSplit> {
  const mpath = manifestPath(cacheDir, split);
  const manifest = await readManifest(mpath);
  if (!manifest)
    throw new Error(
      `no prepared ${split} split in ${cacheDir}: ${mpath} is missing (run prepare first)`,
    );
  const ids = new Int32Array(
    await readTyped(join(cacheDir, manifest.idsFile), manifest.counts.tokens * 4),
  );
  const articleStarts = new Uint32Array(
    await readTyped(join(cacheDir, manifest.articlesFile), manifest.counts.articles * 4),
  );
  return { manifest, ids, articleStarts };
}
