import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { decodeUtf8, refuseNul, type TextOptions } from './text.js';

/** Runs a hyparquet call, naming the file (and rows) in its error, which names neither. */
async function naming<T>(where: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
}

/**
 * Streams the `text` column of a Hugging Face WikiText parquet file, one row group at a time
 * (memory bounded by the largest row group). Rows keep their trailing "\n" and blank lines are
 * "": each row is returned as the line it was in the `.tokens` release, without the newline,
 * with "" turned back into the blank line " ". Values are decoded here rather than by hyparquet
 * (which replaces invalid UTF-8 silently): errors name the file and the row (from 0).
 */
export async function* readParquetTextLines(
  path: string,
  options: TextOptions = {},
): AsyncGenerator<string> {
  const where = `parquet file ${path}`;
  const file = await naming(where, () => asyncBufferFromFile(path));
  const metadata = await naming(where, () => parquetMetadataAsync(file));
  const columns = metadata.schema.slice(1).map((element) => element.name);
  if (!columns.includes('text')) {
    throw new Error(
      `${where} has no "text" column (columns: ${columns.join(', ') || 'none'}); expected the Hugging Face WikiText layout`,
    );
  }
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const rows = await naming(`${where}, rows ${rowStart}-${rowEnd - 1}`, () =>
      parquetReadObjects({
        file,
        metadata,
        columns: ['text'],
        rowStart,
        rowEnd,
        parsers: { stringFromBytes: (bytes: Uint8Array) => bytes },
      }),
    );
    for (const [i, row] of rows.entries()) {
      const bytes = row.text;
      const describe = (offset: number, problem: string) =>
        `${where}, row ${rowStart + i}, byte offset ${offset} of its text: ${problem}`;
      if (!(bytes instanceof Uint8Array))
        throw new Error(`${where}, row ${rowStart + i}: "text" value is not a string`);
      refuseNul(bytes, describe);
      const text = decodeUtf8(bytes, options, describe);
      yield text === '' ? ' ' : text.endsWith('\n') ? text.slice(0, -1) : text;
    }
    rowStart = rowEnd;
  }
}
