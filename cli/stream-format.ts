// Prints a downloaded result as it arrives (table, json, csv, ndjson), writing in batches with backpressure.

import { once } from "node:events";
import type { ResultDownload } from "#cli/download.ts";
import { columnHeading, csvCell, type FORMATS, type ResultBody, tableCell } from "#cli/format.ts";
import { stringifyForTerminal } from "#cli/safe-text.ts";

/** Where rows are printed (process.stdout in the CLI). */
export type RowOutput = NodeJS.WritableStream;

const FLUSH_CHARS = 64 * 1024;
/** Rows a table looks at to size its columns; later rows keep those widths. */
const TABLE_SAMPLE_ROWS = 200;

class BatchedWriter {
  private pending = "";
  constructor(private readonly out: RowOutput) {}

  async write(text: string): Promise<void> {
    this.pending += text;
    if (this.pending.length >= FLUSH_CHARS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending === "") return;
    const text = this.pending;
    this.pending = "";
    if (!this.out.write(text)) await once(this.out, "drain");
  }
}

function tableCells(row: readonly unknown[]): string[] {
  return row.map(tableCell);
}

/**
 * Prints `download`'s rows in `format`, never holding more than a batch of output (and, for `table`, the first
 * {@link TABLE_SAMPLE_ROWS} rows) in memory. `json` prints the answer's shape with the downloaded rows in
 * place (`resultUrl` left out). Returns the number of rows printed.
 */
export async function printDownloadedResult(
  answer: ResultBody,
  download: ResultDownload,
  format: (typeof FORMATS)[number],
  out: RowOutput,
): Promise<number> {
  const writer = new BatchedWriter(out);
  const columns = download.columns;
  const names = columns.map((c) => c.name);
  let count = 0;
  if (format === "csv") {
    await writer.write(`${names.map(csvCell).join(",")}\r\n`);
    for await (const row of download.rows) {
      await writer.write(`${row.map(csvCell).join(",")}\r\n`);
      count++;
    }
  } else if (format === "ndjson") {
    for await (const row of download.rows) {
      await writer.write(
        `${stringifyForTerminal(Object.fromEntries(names.map((n, i) => [n, row[i] ?? null])))}\n`,
      );
      count++;
    }
  } else if (format === "json") {
    await writer.write(
      `{\n  "sessionId": ${stringifyForTerminal(answer.sessionId)},\n  "status": "completed",\n  "columns": ${stringifyForTerminal(columns)},\n  "rows": [`,
    );
    for await (const row of download.rows) {
      await writer.write(`${count === 0 ? "" : ","}\n    ${stringifyForTerminal(row)}`);
      count++;
    }
    await writer.write(
      `${count === 0 ? "" : "\n  "}],\n  "rowCount": ${stringifyForTerminal(answer.rowCount)},\n  "truncated": ${stringifyForTerminal(answer.truncated)}\n}\n`,
    );
  } else {
    const headers = columns.map(columnHeading);
    const sample: string[][] = [];
    let widths: number[] | undefined;
    const line = (values: string[], w: number[]): string =>
      `${values
        .map((v, i) => v.padEnd(w[i] ?? 0))
        .join(" │ ")
        .trimEnd()}\n`;
    const start = async (): Promise<number[]> => {
      const w = headers.map((h, i) => Math.max(h.length, ...sample.map((r) => (r[i] ?? "").length)));
      await writer.write(line(headers, w));
      await writer.write(`${w.map((n) => "─".repeat(n)).join("─┼─")}\n`);
      for (const cells of sample) await writer.write(line(cells, w));
      return w;
    };
    for await (const row of download.rows) {
      const cells = tableCells(row);
      count++;
      if (widths !== undefined) await writer.write(line(cells, widths));
      else {
        sample.push(cells);
        if (sample.length === TABLE_SAMPLE_ROWS) widths = await start();
      }
    }
    if (widths === undefined) await start();
  }
  await writer.flush();
  return count;
}
