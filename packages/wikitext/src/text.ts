import { isUtf8 } from 'node:buffer';

/** How the text readers treat bytes that are not UTF-8 text. */
export interface TextOptions {
  /**
   * Replace invalid UTF-8 with U+FFFD instead of refusing the input, adding one to `replaced`
   * per replacement character. NUL bytes (binary data) are refused either way.
   */
  lenientUtf8?: { replaced: number };
}

/** Builds the one-line error for a problem at byte `offset` of the bytes being checked. */
export type DescribeAt = (offset: number, problem: string) => string;

const decoder = new TextDecoder('utf-8');

/**
 * Start offsets of the invalid sequences in `bytes`, one per U+FFFD that a WHATWG decoder
 * (TextDecoder) writes for them; stops after `limit` of them.
 */
export function invalidUtf8Offsets(bytes: Uint8Array, limit = Number.POSITIVE_INFINITY): number[] {
  const out: number[] = [];
  let needed = 0;
  let start = 0;
  let lower = 0x80;
  let upper = 0xbf;
  for (let i = 0; i < bytes.length && out.length < limit; i++) {
    const b = bytes[i];
    if (needed === 0) {
      if (b <= 0x7f) continue;
      start = i;
      if (b >= 0xc2 && b <= 0xdf) needed = 1;
      else if (b >= 0xe0 && b <= 0xef) {
        if (b === 0xe0) lower = 0xa0;
        if (b === 0xed) upper = 0x9f;
        needed = 2;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b === 0xf0) lower = 0x90;
        if (b === 0xf4) upper = 0x8f;
        needed = 3;
      } else out.push(i);
      continue;
    }
    if (b < lower || b > upper) {
      // The sequence ends before this byte, which starts afresh.
      out.push(start);
      needed = 0;
      i--;
    } else needed--;
    lower = 0x80;
    upper = 0xbf;
  }
  if (needed > 0 && out.length < limit) out.push(start);
  return out;
}

/** Refuses NUL bytes: text never holds them, binary files (executables, archives) do. */
export function refuseNul(bytes: Uint8Array, describe: DescribeAt): void {
  const at = bytes.indexOf(0);
  if (at >= 0) throw new Error(describe(at, 'NUL byte: binary data, not text'));
}

/**
 * Decodes UTF-8 text, refusing invalid sequences (or replacing and counting them under
 * `lenientUtf8`). The caller checks for NUL bytes.
 */
export function decodeUtf8(bytes: Uint8Array, options: TextOptions, describe: DescribeAt): string {
  if (!isUtf8(bytes)) {
    const lenient = options.lenientUtf8;
    const bad = invalidUtf8Offsets(bytes, lenient ? undefined : 1);
    if (!lenient) {
      throw new Error(
        describe(bad[0], 'invalid UTF-8 (--lenient-utf8 replaces such bytes with U+FFFD)'),
      );
    }
    lenient.replaced += bad.length;
  }
  return decoder.decode(bytes);
}

/** Number of "\n" bytes in bytes[0, end). */
export function countNewlines(bytes: Uint8Array, end: number): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i >= 0 && i < end; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}
