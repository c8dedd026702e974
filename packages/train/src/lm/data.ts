import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import {
  describeTokenizer,
  loadPreparedSplit,
  loadSentencePiece,
  loadWordVocab,
  type PreparedSplit,
  type SplitName,
  sameTokenizer,
  type Tokenizer,
  WordTokenizer,
} from '@urgate/wikitext';

/**
 * The tokenizer a prepared cache directory was built with (`tokenizer.json`, written by
 * @urgate/wikitext's prepareCorpus, names the vocabulary or SentencePiece model file).
 */
export async function cacheTokenizer(cacheDir: string): Promise<Tokenizer> {
  const manifestPath = join(cacheDir, 'tokenizer.json');
  let manifest: { spec?: { kind?: string; model?: string }; file?: string };
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch {
    throw new Error(
      `${manifestPath} is missing or unreadable: run \`urgate lm prepare --out ${cacheDir}\` first`,
    );
  }
  const kind = manifest.spec?.kind;
  const file =
    manifest.spec?.model !== undefined
      ? manifest.spec.model
      : manifest.file !== undefined
        ? join(cacheDir, manifest.file)
        : undefined;
  if ((kind !== 'word' && kind !== 'sentencepiece') || file === undefined)
    throw new Error(
      `${manifestPath}: expected {spec: {kind: word|sentencepiece}, file}, got another layout`,
    );
  const path =
    isAbsolute(file) || manifest.spec?.model === undefined ? file : join(process.cwd(), file);
  return kind === 'word' ? new WordTokenizer(await loadWordVocab(path)) : loadSentencePiece(path);
}

/** A prepared split, refused when another tokenizer made it. */
export async function loadLmSplit(
  cacheDir: string,
  split: SplitName,
  tokenizer: Tokenizer,
): Promise<PreparedSplit> {
  const prepared = await loadPreparedSplit(cacheDir, split);
  if (!sameTokenizer(prepared.manifest.tokenizer, tokenizer.identity))
    throw new Error(
      `${cacheDir}: the ${split} split was prepared with the ${describeTokenizer(prepared.manifest.tokenizer)}, not the ${describeTokenizer(tokenizer.identity)}: run \`urgate lm prepare\` again`,
    );
  return prepared;
}
