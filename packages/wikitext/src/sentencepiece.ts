import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tempPathFor } from '@urgate/files';
import { lineWords } from './article.js';
import { sha256Text } from './checksum.js';
import { cleanupOnSignal } from './interrupt.js';
import { parseModelPieces } from './spmModel.js';
import type { Tokenizer, TokenizerIdentity } from './tokenizer.js';

/** WikiText's literal tokens that must stay whole pieces. */
export const WIKITEXT_SYMBOLS: readonly string[] = ['<unk>', '@-@', '@,@', '@.@'];
/** Name given to SentencePiece's built-in unknown piece, so that WikiText's `<unk>` stays a word. */
export const SPM_UNK_PIECE = '<spm-unk>';
/** End-of-line piece of models trained here (id 1); `</s>` is accepted in other models. */
export const SPM_EOS_PIECE = '<eos>';

export interface SentencePieceTrainOptions {
  /** Output path without extension: writes `<modelPrefix>.model` and `<modelPrefix>.vocab`. */
  modelPrefix: string;
  vocabSize: number;
  modelType?: 'unigram' | 'bpe' | 'char' | 'word';
  /** spm_train samples this many lines (0: use all). */
  inputSentenceSize?: number;
  /** spm_train's --max_sentence_length in bytes (its default 4192); longer lines are split here. */
  maxSentenceLength?: number;
  characterCoverage?: number;
  /** Further `--flag=value` arguments for spm_train. */
  extraArgs?: string[];
  onWarning?: (message: string) => void;
}

export interface SentencePieceTrainResult {
  modelPath: string;
  vocabPath: string;
  /** Lines longer than maxSentenceLength that were cut at word boundaries before training. */
  linesSplit: number;
}

/** Cuts a line into pieces of at most `maxBytes` UTF-8 bytes at word boundaries. */
export function splitLongLine(line: string, maxBytes: number): string[] {
  const out: string[] = [];
  let current = '';
  let currentBytes = 0;
  for (const word of lineWords(line)) {
    const bytes = Buffer.byteLength(word);
    if (currentBytes > 0 && currentBytes + 1 + bytes > maxBytes) {
      out.push(current);
      current = '';
      currentBytes = 0;
    }
    // A single word longer than the limit cannot be split at a boundary; spm_train skips it.
    current = currentBytes === 0 ? word : `${current} ${word}`;
    currentBytes += (currentBytes === 0 ? 0 : 1) + bytes;
  }
  if (currentBytes > 0) out.push(current);
  return out;
}

const SPM_TRAIN_MISSING =
  'spm_train not found on PATH: install the sentencepiece package (apt-get install sentencepiece)';

let pdeathsig: boolean | undefined;

/**
 * `setpriv --pdeathsig KILL` (util-linux) has the kernel kill spm_train when this process
 * dies, even by SIGKILL, so that no orphan keeps training; used where it exists.
 */
function spmTrainCommand(args: string[]): [string, string[]] {
  pdeathsig ??=
    process.platform === 'linux' &&
    spawnSync('setpriv', ['--help'], { encoding: 'utf8' }).stdout?.includes('--pdeathsig') === true;
  return pdeathsig
    ? ['setpriv', ['--pdeathsig', 'KILL', 'spm_train', ...args]]
    : ['spm_train', args];
}

function runSpmTrain(args: string[], cwd: string, started: (child: ChildProcess) => void) {
  return new Promise<void>((resolvePromise, reject) => {
    const [command, commandArgs] = spmTrainCommand(args);
    const child = spawn(command, commandArgs, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    started(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error(SPM_TRAIN_MISSING) : err),
    );
    child.on('close', (code) => {
      if (code === 0) return resolvePromise();
      const last = stderr.trim().split('\n').pop() ?? '';
      if (code === 127 && /failed to execute spm_train/.test(last))
        return reject(new Error(SPM_TRAIN_MISSING));
      // spm_train ends with "Program terminated with an unrecoverable error."; the reason is
      // the line before, after its source-location prefix ("... [condition] reason").
      const reason = stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('Program terminated'))
        .pop()
        ?.replace(/^.*\] /, '');
      reject(new Error(`spm_train exited with code ${code}: ${reason ?? last}`));
    });
  });
}

/**
 * Trains a SentencePiece model on the given lines with Debian's `spm_train`. WikiText's
 * `<unk>`, `@-@`, `@,@`, `@.@` become user-defined pieces (through a symbols file: the
 * comma-separated flag cannot carry `@,@`), the built-in unknown piece is renamed
 * `<spm-unk>` (id 0), `<eos>` is id 1 and there is no BOS. Lines longer than
 * maxSentenceLength, which spm_train would skip with only a log line, are cut at word
 * boundaries and reported through onWarning.
 *
 * spm_train runs in a work folder beside the model (`<modelPrefix>.train.tmp-<pid>-<hex>`) on
 * file names relative to it, with a fixed random seed: the model records its training
 * arguments, so the same lines and options give the same model bytes wherever it is trained.
 * The folder (a full copy of the training text) is removed when training ends, on SIGINT or
 * SIGTERM (spm_train is killed first), or, after a SIGKILL, by the next prepare's sweep.
 */
export async function trainSentencePiece(
  lines: AsyncIterable<string>,
  options: SentencePieceTrainOptions,
): Promise<SentencePieceTrainResult> {
  const { modelPrefix, vocabSize } = options;
  if (!Number.isInteger(vocabSize) || vocabSize < WIKITEXT_SYMBOLS.length + 3) {
    throw new Error(
      `vocabSize must be an integer >= ${WIKITEXT_SYMBOLS.length + 3}, got ${vocabSize}`,
    );
  }
  const maxBytes = options.maxSentenceLength ?? 4192;
  const work = tempPathFor(`${modelPrefix}.train`);
  let child: ChildProcess | null = null;
  const releaseSignals = cleanupOnSignal(() => {
    child?.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });
  try {
    await mkdir(work, { recursive: true });
    // Everything in the work folder is temporary: plain writes, no rename needed.
    const input = await open(join(work, 'input.txt'), 'w');
    let linesSplit = 0;
    let pending: string[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      await input.writeFile(pending.join(''));
      pending = [];
      pendingBytes = 0;
    };
    try {
      for await (const line of lines) {
        const text = line.trim();
        if (text === '') continue;
        const parts = Buffer.byteLength(text) > maxBytes ? splitLongLine(text, maxBytes) : [text];
        if (parts.length > 1) linesSplit++;
        for (const part of parts) {
          pending.push(`${part}\n`);
          pendingBytes += part.length + 1;
        }
        if (pendingBytes > 1 << 20) await flush();
      }
      await flush();
    } finally {
      await input.close();
    }
    if (linesSplit > 0) {
      options.onWarning?.(
        `${linesSplit} training lines were longer than max_sentence_length (${maxBytes} bytes) and were cut at word boundaries`,
      );
    }
    await writeFile(join(work, 'symbols.txt'), `${WIKITEXT_SYMBOLS.join('\n')}\n`);
    const trainArgs = [
      '--input=input.txt',
      '--model_prefix=model',
      `--vocab_size=${vocabSize}`,
      `--model_type=${options.modelType ?? 'unigram'}`,
      '--user_defined_symbols_file=symbols.txt',
      `--unk_piece=${SPM_UNK_PIECE}`,
      `--eos_piece=${SPM_EOS_PIECE}`,
      '--unk_id=0',
      '--eos_id=1',
      '--bos_id=-1',
      '--pad_id=-1',
      `--max_sentence_length=${maxBytes}`,
      `--input_sentence_size=${options.inputSentenceSize ?? 0}`,
      `--character_coverage=${options.characterCoverage ?? 1}`,
      '--random_seed=1',
      '--minloglevel=1',
      ...(options.extraArgs ?? []),
    ];
    await runSpmTrain(trainArgs, work, (started) => {
      child = started;
    });
    // The work folder is beside the model: renames within one file system, atomic.
    const modelPath = `${modelPrefix}.model`;
    const vocabPath = `${modelPrefix}.vocab`;
    await rename(join(work, 'model.vocab'), vocabPath);
    await rename(join(work, 'model.model'), modelPath);
    return { modelPath, vocabPath, linesSplit };
  } finally {
    releaseSignals();
    await rm(work, { recursive: true, force: true });
  }
}

interface WasmProcessor {
  loadFromB64StringModel(b64: string): Promise<void>;
  encodeIds(text: string): number[];
}

const PROBE = 'The quick brown fox jumps over the lazy dog.';

/** SentencePiece encoding in-process (WebAssembly); one instance per model content per process. */
export class SentencePieceTokenizer implements Tokenizer {
  readonly identity: TokenizerIdentity;
  readonly unkId: number;
  readonly unknownIds: readonly number[];

  constructor(
    /** Where the model came from (a path, or a description for models given as bytes). */
    readonly source: string,
    /** The .model file's bytes, e.g. to embed the tokenizer in a checkpoint. */
    readonly model: Uint8Array,
    private readonly processor: WasmProcessor,
    checksum: string,
    readonly pieces: readonly string[],
    readonly eosId: number,
  ) {
    this.identity = { kind: 'sentencepiece', checksum, vocabSize: pieces.length };
    this.unkId = Math.max(0, pieces.indexOf(SPM_UNK_PIECE));
    const wikiUnk = pieces.indexOf('<unk>');
    this.unknownIds = wikiUnk < 0 ? [this.unkId] : [this.unkId, wikiUnk];
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  /** Encode one line at a time: the wasm heap never shrinks, so its peak is the longest input. */
  encodeLine(line: string): number[] {
    return this.processor.encodeIds(line);
  }

  decode(ids: Iterable<number>): string {
    const text = (pieces: string) => pieces.replace(/\u2581/g, ' ').trim();
    let out = '';
    let line = '';
    for (const id of ids) {
      if (id === this.eosId) {
        out += `${text(line)}\n`;
        line = '';
      } else {
        line += this.pieces[id] ?? SPM_UNK_PIECE;
      }
    }
    return out + text(line);
  }
}

// Each wasm load installs process-wide handlers and its heap never shrinks: load a model once.
const loaded = new Map<string, Promise<SentencePieceTokenizer>>();

async function loadUncached(
  path: string,
  model: Uint8Array,
  checksum: string,
): Promise<SentencePieceTokenizer> {
  let names: string[];
  try {
    names = parseModelPieces(model).map((p) => p.piece);
  } catch (err) {
    throw new Error(`${path} is not a SentencePiece model (${(err as Error).message})`);
  }
  const eosId =
    names.indexOf(SPM_EOS_PIECE) >= 0 ? names.indexOf(SPM_EOS_PIECE) : names.indexOf('</s>');
  const { SentencePieceProcessor } = await import('@sctg/sentencepiece-js');
  const processor = new SentencePieceProcessor() as unknown as WasmProcessor;
  let probe: number[] = [];
  try {
    await processor.loadFromB64StringModel(Buffer.from(model).toString('base64'));
    probe = processor.encodeIds(PROBE);
  } catch {
    probe = [];
  }
  if (probe.length === 0 || names.length === 0) {
    throw new Error(
      `SentencePiece model ${path} does not encode: a probe sentence gave no ids (corrupt or not a .model file)`,
    );
  }
  if (eosId < 0) {
    throw new Error(
      `SentencePiece model ${path} has no "${SPM_EOS_PIECE}" or "</s>" piece to end lines with`,
    );
  }
  return new SentencePieceTokenizer(path, model, processor, checksum, names, eosId);
}

/** Loads a .model file for in-process encoding (once per model content per process). */
export async function loadSentencePiece(modelPath: string): Promise<SentencePieceTokenizer> {
  const path = resolve(modelPath);
  let model: Buffer;
  try {
    model = await readFile(path);
  } catch {
    throw new Error(`SentencePiece model file ${path} does not exist or cannot be read`);
  }
  return loadSentencePieceBytes(model, path);
}

/** Like loadSentencePiece, for a model held in memory; `source` names it in errors. */
export function loadSentencePieceBytes(
  model: Uint8Array,
  source: string,
): Promise<SentencePieceTokenizer> {
  const checksum = sha256Text(model);
  let pending = loaded.get(checksum);
  if (!pending) {
    pending = loadUncached(source, model, checksum);
    loaded.set(checksum, pending);
    pending.catch(() => loaded.delete(checksum));
  }
  return pending;
}
