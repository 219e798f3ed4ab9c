// Syntax highlighting of the exact SQL text from PostgreSQL's own scanner tokens; every piece is shown visibly and HTML-escaped.

import { type PgScanToken, pgScan } from "#shared/sql/pg-wasm.ts";
import { html, SafeHtml } from "#shared/web/html-template.ts";

/** A piece of SQL as HTML text: invisible and bidi characters as `⟨U+XXXX⟩` markers, then escaped. */
function shown(text: string): SafeHtml {
  return html`${text}`;
}

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
 * everything escaped, nothing dropped — the characters shown are exactly the characters recorded, with invisible
 * ones (bidi overrides and isolates, zero-width characters, controls) as visible `⟨U+XXXX⟩` markers so the text
 * cannot read differently from what runs ("Trojan Source"). Text the scanner cannot tokenize is shown the same way,
 * unhighlighted.
 */
export function highlightSql(sql: string): SafeHtml {
  let tokens: PgScanToken[];
  try {
    tokens = pgScan(sql);
  } catch {
    return shown(sql);
  }
  const bytes = Buffer.from(sql, "utf8");
  const parts: SafeHtml[] = [];
  let offset = 0;
  for (const token of tokens) {
    if (token.start < offset || token.end > bytes.length || token.end < token.start) return shown(sql);
    parts.push(shown(bytes.subarray(offset, token.start).toString("utf8")));
    const text = shown(bytes.subarray(token.start, token.end).toString("utf8"));
    const cls = tokenClass(token);
    parts.push(cls === "i" ? text : html`<span class="${cls}">${text}</span>`);
    offset = token.end;
  }
  parts.push(shown(bytes.subarray(offset).toString("utf8")));
  return new SafeHtml(parts.join(""));
}
