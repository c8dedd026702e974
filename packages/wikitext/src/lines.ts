import { createReadStream } from 'node:fs';
import { countNewlines, decodeUtf8, refuseNul, type TextOptions } from './text.js';

/**
 * Streams the lines of a UTF-8 text file without their line terminator ("\n" or "\r\n").
 * Memory stays bounded by the read chunk size plus the longest line, whatever the file size.
 * A final line without a terminator is still yielded; a trailing terminator does not
 * produce an extra empty line. A NUL byte or invalid UTF-8 (unless `lenientUtf8`) is an error
 * naming the file, the line (from 1) and the byte offset (from 0).
 */
export async function* readLines(path: string, options: TextOptions = {}): AsyncGenerator<string> {
  let carry: Buffer | null = null;
  /** File offset of the first byte of carry (or of the chunk when there is none). */
  let offset = 0;
  /** Number of the line that starts at `offset`. */
  let line = 1;
  const at =
    (bytes: Uint8Array, base: number): ((i: number, problem: string) => string) =>
    (i, problem) =>
      `${path} line ${line + countNewlines(bytes, i)}, byte offset ${base + i}: ${problem}`;
  for await (const chunk of createReadStream(path, {
    highWaterMark: 1 << 20,
  }) as AsyncIterable<Buffer>) {
    // carry never holds a "\n", so the chunk's lines are counted from `line`.
    refuseNul(chunk, at(chunk, offset + (carry?.length ?? 0)));
    const data: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    const last = data.lastIndexOf(10);
    if (last === -1) {
      carry = Buffer.from(data);
      continue;
    }
    // Decoding whole chunks and splitting the string is several times faster than decoding
    // each line; cutting after a "\n" byte never splits a UTF-8 sequence.
    const lines = decodeUtf8(data.subarray(0, last), options, at(data, offset)).split('\n');
    carry = last + 1 < data.length ? Buffer.from(data.subarray(last + 1)) : null;
    offset += last + 1;
    line += lines.length;
    for (const text of lines) yield text.endsWith('\r') ? text.slice(0, -1) : text;
  }
  if (carry) {
    const text = decodeUtf8(carry, options, at(carry, offset));
    yield text.endsWith('\r') ? text.slice(0, -1) : text;
  }
}
