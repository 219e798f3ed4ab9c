// Syntax highlighting of the exact SQL text from PostgreSQL's own scanner tokens; every piece is HTML-escaped.

import { type PgScanToken, pgScan } from "#shared/sql/pg-wasm.ts";
import { escapeHtml } from "#shared/web/html.ts";

const STRING_TOKENS = new Set(["SCONST", "USCONST", "BCONST", "XCONST"]);
const NUMBER_TOKENS = new Set(["ICONST", "FCONST"]);
const COMMENT_TOKENS = new Set(["SQL_COMMENT", "C_COMMENT"]);
const IDENT_TOKENS = new Set(["IDENT", "UIDENT"]);

/** The CSS class of a token: keyword, string, number, parameter, comment, identifier or other (operators). */
export function tokenClass(token: {
  tokenName: string;
  keywordKind: number;
}): "k" | "s" | "n" | "p" | "c" | "i" | "o" {
  if (COMMENT_TOKENS.has(token.tokenName)) return "c";
  if (STRING_TOKENS.has(token.tokenName)) return "s";
  if (NUMBER_TOKENS.has(token.tokenName)) return "n";
  if (token.tokenName === "PARAM") return "p";
  if (IDENT_TOKENS.has(token.tokenName)) return "i";
  if (token.keywordKind > 0) return "k";
  return "o";
}

/**
 * The SQL as HTML: each scanner token in a `<span class>` by kind, the text between tokens (whitespace) as it is,
 * everything escaped, nothing dropped — the characters shown are exactly the characters recorded. Text the scanner
 * cannot tokenize is shown escaped and unhighlighted.
 */
export function highlightSql(sql: string): string {
  let tokens: PgScanToken[];
  try {
    tokens = pgScan(sql);
  } catch {
    return escapeHtml(sql);
  }
  const bytes = Buffer.from(sql, "utf8");
  const parts: string[] = [];
  let offset = 0;
  for (const token of tokens) {
    if (token.start < offset || token.end > bytes.length || token.end < token.start) return escapeHtml(sql);
    parts.push(escapeHtml(bytes.subarray(offset, token.start).toString("utf8")));
    const text = escapeHtml(bytes.subarray(token.start, token.end).toString("utf8"));
    const cls = tokenClass(token);
    parts.push(cls === "i" ? text : `<span class="${cls}">${text}</span>`);
    offset = token.end;
  }
  parts.push(escapeHtml(bytes.subarray(offset).toString("utf8")));
  return parts.join("");
}
