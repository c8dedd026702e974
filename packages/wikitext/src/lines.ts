import { createReadStream } from 'node:fs';

/**
 * Streams the lines of a UTF-8 text file without their line terminator ("\n" or "\r\n").
 * Memory stays bounded by the read chunk size plus the longest line, whatever the file size.
 * A final line without a terminator is still yielded; a trailing terminator does not
 * produce an extra empty line.
 */
export async function* readLines(path: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  let carry: Buffer | null = null;
  for await (const chunk of createReadStream(path, {
    highWaterMark: 1 << 20,
  }) as AsyncIterable<Buffer>) {
    const data: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    const last = data.lastIndexOf(10);
    if (last === -1) {
      carry = Buffer.from(data);
      continue;
    }
    // Decoding whole chunks and splitting the string is several times faster than decoding
    // each line; cutting after a "\n" byte never splits a UTF-8 sequence.
    const lines = decoder.decode(data.subarray(0, last)).split('\n');
    carry = last + 1 < data.length ? Buffer.from(data.subarray(last + 1)) : null;
    for (const line of lines) yield line.endsWith('\r') ? line.slice(0, -1) : line;
  }
  if (carry) {
    const line = decoder.decode(carry);
    yield line.endsWith('\r') ? line.slice(0, -1) : line;
  }
}
