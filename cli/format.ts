// Renders a query result as a table, JSON, CSV or NDJSON — every byte the gateway sent made safe to print.

import { inertCsvText, oneLine, printable, stringifyForTerminal } from "#cli/safe-text.ts";

/** A result as the gateway answers it. */
export interface ResultBody {
  readonly sessionId: string;
  readonly columns: readonly {
    name: string;
    type: string;
    masking: { rule: string; strategy: string } | null;
  }[];
  readonly rows: readonly unknown[][];
  readonly rowCount: number;
  readonly truncated: boolean;
  readonly resultUrl?: string;
  readonly resultSha256?: string;
}

/** Output formats of `phigate query`. */
export const FORMATS = ["table", "json", "csv", "ndjson"] as const;

/** A cell as plain text (JSON for non-strings, empty for null). */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * A cell as one CSV field (RFC 4180 quoting): control and invisible characters shown as `⟨U+XXXX⟩` (line feeds
 * inside a quoted field stay), a text that a spreadsheet would run as a formula prefixed with `'` and quoted.
 */
export function csvCell(value: unknown): string {
  const raw = cellText(value);
  const inert = inertCsvText(value, raw);
  const text = printable(inert);
  return /[",\r\n]/.test(text) || inert !== raw ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A column's table heading: its name, and the masking strategy when masked (one visible line). */
export function columnHeading(c: ResultBody["columns"][number]): string {
  return oneLine(c.masking === null ? c.name : `${c.name} (${c.masking.strategy})`);
}

/** A cell as a table shows it: whitespace collapsed, invisible characters visible, at most 60 characters. */
export function tableCell(value: unknown): string {
  return Array.from(oneLine(cellText(value).replace(/\s+/g, " ")))
    .slice(0, 60)
    .join("");
}

function table(result: ResultBody): string {
  const headers = result.columns.map(columnHeading);
  const cells = result.rows.map((row) => row.map(tableCell));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (values: string[]): string =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join(" │ ")
      .trimEnd();
  return [line(headers), widths.map((w) => "─".repeat(w)).join("─┼─"), ...cells.map(line)].join("\n");
}

/** The text printed on stdout for a result. */
export function formatResult(result: ResultBody, format: (typeof FORMATS)[number]): string {
  switch (format) {
    case "json":
      return stringifyForTerminal(result, 2);
    case "csv":
      return [
        result.columns.map((c) => csvCell(c.name)).join(","),
        ...result.rows.map((r) => r.map(csvCell).join(",")),
      ].join("\r\n");
    case "ndjson": {
      const names = result.columns.map((c) => c.name);
      return result.rows
        .map((r) => stringifyForTerminal(Object.fromEntries(names.map((n, i) => [n, r[i] ?? null]))))
        .join("\n");
    }
    default:
      return table(result);
  }
}

/** The summary printed on stderr after a result (so stdout stays machine-readable). */
export function resultSummary(result: ResultBody): string {
  // Text the policy does not mask still goes through the detectors (rule `detectors`): scanned, not masked.
  const masked = result.columns.filter((c) => c.masking !== null && c.masking.rule !== "detectors").length;
  const scanned = result.columns.filter((c) => c.masking?.rule === "detectors").length;
  const scannedNote = scanned > 0 ? `, ${scanned} scanned by the detectors` : "";
  return oneLine(
    `${result.rowCount} row(s)${result.truncated ? " (truncated by the row cap)" : ""}, ${masked} masked column(s)${scannedNote} · session ${result.sessionId}`,
  );
}
