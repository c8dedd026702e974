import { appendFileSync, readFileSync } from 'node:fs';
import { FileWriteError, writeFileAtomicSync } from '@urgate/files';

export interface MetricRecord {
  step: number;
  [key: string]: unknown;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a JSON-lines metrics file. Only a torn last line (a process killed mid-append leaves
 * one, without its newline, perhaps cut inside a character) is dropped; any other line that is
 * not valid UTF-8 or not a JSON object with a numeric step, or a missing file, is an error
 * naming the file and line. (Decoding with replacement characters would let a flipped byte
 * through as a misspelt key, and a resume would copy it into the run's log.)
 */
export function readMetrics(path: string): MetricRecord[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is unreadable';
    throw new Error(`${path}: the metrics file ${why}`);
  }
  // Split on the newline byte, which UTF-8 never uses inside a character.
  const lines: Buffer[] = [];
  for (let at = 0; ; ) {
    const end = bytes.indexOf(0x0a, at);
    lines.push(bytes.subarray(at, end < 0 ? bytes.length : end));
    if (end < 0) break;
    at = end + 1;
  }
  const torn = lines.length - 1; // the bytes after the last newline (none when the file ends cleanly)
  const out: MetricRecord[] = [];
  for (let k = 0; k < lines.length; k++) {
    let line: string;
    try {
      line = utf8.decode(lines[k]);
    } catch {
      if (k === torn) continue;
      throw new Error(`${path}:${k + 1}: not valid UTF-8 (the metrics file is corrupt)`);
    }
    if (line.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      if (k === torn) continue;
      throw new Error(`${path}:${k + 1}: not a JSON line (the metrics file is corrupt)`);
    }
    if (
      record === null ||
      typeof record !== 'object' ||
      typeof (record as MetricRecord).step !== 'number'
    )
      throw new Error(`${path}:${k + 1}: expected a JSON object with a numeric step`);
    out.push(record as MetricRecord);
  }
  return out;
}

/**
 * Appends one JSON object per line, written through to the file on each call (appendFileSync),
 * so a killed run keeps every record it reported. A fresh run starts an empty file; a resumed
 * run keeps the first `keep` records (the count its checkpoint recorded) or, for checkpoints
 * without a count, those with step <= `resumeAtStep`, and writes the rest again.
 */
export class MetricsWriter {
  readonly path: string;
  /** Records in the file (kept + written by this writer). */
  count: number;

  constructor(path: string, options: { resumeAtStep?: number; keep?: number } = {}) {
    this.path = path;
    let kept: MetricRecord[] = [];
    if (options.keep !== undefined) {
      kept = readMetrics(path);
      if (kept.length < options.keep)
        throw new Error(
          `${path}: holds ${kept.length} records but the checkpoint was saved after ${options.keep}; the metrics file does not belong to this checkpoint`,
        );
      kept = kept.slice(0, options.keep);
    } else if (options.resumeAtStep !== undefined) {
      kept = readMetrics(path).filter((r) => r.step <= (options.resumeAtStep as number));
    }
    writeFileAtomicSync(path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''), 'metrics file');
    this.count = kept.length;
  }

  write(record: MetricRecord): void {
    try {
      appendFileSync(this.path, `${JSON.stringify(record)}\n`);
    } catch (e) {
      // The records before stay; a torn last line is dropped on resume.
      throw new FileWriteError(this.path, 'metrics file', e);
    }
    this.count += 1;
  }
}
