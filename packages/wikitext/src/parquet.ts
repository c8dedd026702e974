import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';

/**
 * Streams the `text` column of a Hugging Face WikiText parquet file, one row group at a time
 * (memory bounded by the largest row group). Rows keep their trailing "\n" and blank lines are
 * "": each row is returned as the line it was in the `.tokens` release, without the newline,
 * with "" turned back into the blank line " ".
 */
export async function* readParquetTextLines(path: string): AsyncGenerator<string> {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  const columns = metadata.schema.slice(1).map((element) => element.name);
  if (!columns.includes('text')) {
    throw new Error(
      `parquet file ${path} has no "text" column (columns: ${columns.join(', ') || 'none'}); expected the Hugging Face WikiText layout`,
    );
  }
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const rows = await parquetReadObjects({ file, metadata, columns: ['text'], rowStart, rowEnd });
    for (const row of rows) {
      const text = row.text;
      if (typeof text !== 'string') {
        throw new Error(`parquet file ${path}: "text" value in row ${rowStart} is not a string`);
      }
      yield text === '' ? ' ' : text.endsWith('\n') ? text.slice(0, -1) : text;
    }
    rowStart = rowEnd;
  }
}
