import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface MetricRecord {
  step: number;
  [key: string]: unknown;
}

/** Reads a JSON-lines metrics file; a torn last line (killed mid-write) is ignored. */
export function readMetrics(path: string): MetricRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: MetricRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // Only a process killed mid-append leaves an unparsable line; it is always the last.
    }
  }
  return out;
}

/**
 * Appends one JSON object per line, written through to the file on each call (appendFileSync),
 * so a killed run keeps every record it reported. Resuming at step k keeps the records with
 * step <= k and drops later ones, which the resumed run writes again.
 */
export class MetricsWriter {
  readonly path: string;

  constructor(path: string, options: { resumeAtStep?: number } = {}) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    const kept =
      options.resumeAtStep === undefined
        ? []
        : readMetrics(path).filter((r) => r.step <= (options.resumeAtStep as number));
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    renameSync(temporary, path);
  }

  write(record: MetricRecord): void {
    appendFileSync(this.path, `${JSON.stringify(record)}\n`);
  }
}
