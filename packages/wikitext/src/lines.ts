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
    let start = 0;
    let nl = data.indexOf(10, start);
    while (nl !== -1) {
      const end = nl > start && data[nl - 1] === 13 ? nl - 1 : nl;
      yield decoder.decode(data.subarray(start, end));
      start = nl + 1;
      nl = data.indexOf(10, start);
    }
    carry = start < data.length ? Buffer.from(data.subarray(start)) : null;
  }
  if (carry) yield decoder.decode(carry[carry.length - 1] === 13 ? carry.subarray(0, -1) : carry);
}
