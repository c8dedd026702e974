import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { AtomicStreamWriter, sweepStaleTemps, writeFileAtomic } from '@urgate/files';
import { isArticleHeading, lineWords } from './article.js';
import { sha256File, sha256Text } from './checksum.js';
import { cleanupOnSignal } from './interrupt.js';
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
  version: typeof MANIFEST_VERSION;
  split: SplitName;
  sourceFormat: SourceFormat;
  sources: SourceFileIdentity[];
  tokenizer: TokenizerIdentity;
  counts: SplitCounts;
  /** Invalid UTF-8 sequences replaced with U+FFFD (only a `lenientUtf8` preparation has any). */
  replacedUtf8: number;
  /** Little-endian Int32 token ids, file name relative to the cache directory. */
  idsFile: string;
  idsSha256: string;
  /** Little-endian Uint32 token offsets at which an article's heading line starts. */
  articlesFile: string;
  articlesSha256: string;
  /** sha256 of this manifest's JSON without this field, so that an edited manifest is refused. */
  checksum: string;
}

/** Version 2 added the checksums; version 1 caches are rebuilt by prepare and refused by load. */
const MANIFEST_VERSION = 2;

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
  /** Replace invalid UTF-8 in the sources with U+FFFD (counted in the manifest) instead of refusing them. */
  lenientUtf8?: boolean;
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

function manifestChecksum(manifest: Omit<SplitManifest, 'checksum'> & { checksum?: string }) {
  const { checksum: _, ...content } = manifest;
  return sha256Text(JSON.stringify(content));
}

/** The manifest at `path`, or null when there is none; throws on one that is not intact. */
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
  if (manifest?.format !== 'urgate-wikitext-cache')
    throw new Error(`${path} is not an urgate-wikitext-cache manifest`);
  if (manifest.version !== MANIFEST_VERSION) {
    throw new Error(
      `${path} is a version ${manifest.version} cache manifest, expected version ${MANIFEST_VERSION} (with checksums): prepare the split again`,
    );
  }
  if (manifest.checksum !== manifestChecksum(manifest)) {
    throw new Error(
      `${path} was edited or is corrupt: its content does not match its checksum (prepare the split again)`,
    );
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
  lenientUtf8: boolean,
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
  if (old.replacedUtf8 > 0 && !lenientUtf8)
    return `it holds ${old.replacedUtf8} replaced invalid UTF-8 sequences and strict UTF-8 was asked for`;
  for (const [file, bytes, sha256] of [
    [old.idsFile, old.counts.tokens * 4, old.idsSha256],
    [old.articlesFile, old.counts.articles * 4, old.articlesSha256],
  ] as const) {
    const path = join(cacheDir, file);
    if ((await fileSize(path)) !== bytes) return `${file} is missing or truncated`;
    if ((await sha256File(path)) !== sha256)
      return `${file} does not match the sha256 in ${manifestPath(cacheDir, old.split)}`;
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
  const lenientUtf8 = options.lenientUtf8 === true;
  sweepStaleTemps(cacheDir);
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
      lenientUtf8,
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
  const idsOut = new AtomicStreamWriter(join(cacheDir, idsFile), 'token cache');
  const releaseSignals = cleanupOnSignal(() => rmSync(idsOut.tmp, { force: true }));
  const idsHash = createHash('sha256');
  const replaced = { replaced: 0 };
  const counts: SplitCounts = { lines: 0, tokens: 0, words: 0, bytes: 0, articles: 0 };
  const articleStarts: number[] = [];
  const eos = tokenizer.eosId;
  const wordTokenizer = tokenizer instanceof WordTokenizer ? tokenizer : null;
  let buffer = new Int32Array(FLUSH_TOKENS);
  let filled = 0;
  const totalBytes = source.format === 'parquet' ? null : sources.reduce((n, s) => n + s.bytes, 0);
  const flush = async () => {
    const bytes = new Uint8Array(buffer.buffer, 0, filled * 4);
    idsHash.update(bytes);
    await idsOut.write(bytes);
    buffer = new Int32Array(FLUSH_TOKENS);
    filled = 0;
    options.onProgress?.({ split, lines: counts.lines, bytes: counts.bytes, totalBytes });
  };
  try {
    for await (const line of readSourceLines(
      source,
      lenientUtf8 ? { lenientUtf8: replaced } : {},
    )) {
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
  } finally {
    releaseSignals();
  }
  counts.articles = articleStarts.length;
  const starts = new Uint8Array(Uint32Array.from(articleStarts).buffer);
  await writeFileAtomic(join(cacheDir, articlesFile), starts, 'token cache');
  const content: Omit<SplitManifest, 'checksum'> = {
    format: 'urgate-wikitext-cache',
    version: MANIFEST_VERSION,
    split,
    sourceFormat: source.format,
    sources,
    tokenizer: tokenizer.identity,
    counts,
    replacedUtf8: replaced.replaced,
    idsFile,
    idsSha256: idsHash.digest('hex'),
    articlesFile,
    articlesSha256: sha256Text(starts),
  };
  const manifest: SplitManifest = { ...content, checksum: manifestChecksum(content) };
  await writeFileAtomic(mpath, `${JSON.stringify(manifest, null, 2)}\n`, 'token cache manifest');
  return { manifest, rebuilt: true, reason: reason ?? 'rebuilt' };
}

/** Reads a cache file whole, refusing it unless its size and sha256 are the manifest's. */
async function readChecked(
  path: string,
  bytes: number,
  sha256: string,
  mpath: string,
): Promise<ArrayBuffer> {
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
    if ((await handle.stat()).size !== bytes)
      throw new Error(`${path} is longer than its manifest ${mpath} says (${bytes} bytes)`);
  } finally {
    await handle.close();
  }
  if (createHash('sha256').update(new Uint8Array(out)).digest('hex') !== sha256) {
    throw new Error(
      `${path} does not match the sha256 recorded in ${mpath}: changed or corrupt since it was prepared (prepare the split again)`,
    );
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
    await readChecked(
      join(cacheDir, manifest.idsFile),
      manifest.counts.tokens * 4,
      manifest.idsSha256,
      mpath,
    ),
  );
  const articleStarts = new Uint32Array(
    await readChecked(
      join(cacheDir, manifest.articlesFile),
      manifest.counts.articles * 4,
      manifest.articlesSha256,
      mpath,
    ),
  );
  return { manifest, ids, articleStarts };
}
