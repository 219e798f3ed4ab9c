// A lexical scan of SQL text (no parser): its leading words, the highest $n parameter, and whether more follows a `;`.

/** What the proxy needs to know about a statement before the gateway sees it. */
export interface SqlScan {
  /** The first few words outside comments, lower-cased (`["begin"]`, `["set", "application_name", "="]`...). */
  readonly words: readonly string[];
  /** The text after the leading words' start, comments and the trailing `;` removed (for SET values). */
  readonly text: string;
  /** The highest `$n` outside literals, comments and quoted identifiers (0: none). */
  readonly maxParam: number;
  /** Nothing but whitespace, comments and semicolons. */
  readonly empty: boolean;
  /** Something other than whitespace and comments follows a `;`. */
  readonly multiple: boolean;
}

const WORD_LIMIT = 16;

/** Index just past a dollar-quoted string starting at `start` (`$tag$...$tag$`), or -1 when `start` opens none. */
function dollarQuoteEnd(sql: string, start: number): number {
  const open = /^\$([A-Za-z_\u0080-\uffff][A-Za-z_0-9\u0080-\uffff]*)?\$/.exec(sql.slice(start, start + 64));
  if (open === null) return -1;
  const tag = open[0];
  const close = sql.indexOf(tag, start + tag.length);
  return close < 0 ? sql.length : close + tag.length;
}

/**
 * Scans `sql` the way PostgreSQL's lexer separates tokens: single-quoted strings (with `''`, and backslash escapes
 * in `E'...'`), quoted identifiers, dollar-quoted strings, `--` and nested `/* *\/` comments. It never decides
 * what a statement does beyond its first words; the gateway parses every statement it runs.
 */
export function scanSql(sql: string): SqlScan {
  const words: string[] = [];
  let textStart = -1;
  let textEnd = 0;
  let maxParam = 0;
  let sawContent = false;
  let afterSemicolon = false;
  let multiple = false;
  let i = 0;
  const content = (from: number, to: number): void => {
    if (afterSemicolon) multiple = true;
    if (textStart < 0) textStart = from;
    textEnd = to;
    sawContent = true;
  };
  while (i < sql.length) {
    const c = sql[i] ?? "";
    const next = sql[i + 1] ?? "";
    if (/\s/.test(c)) {
      i++;
    } else if (c === "-" && next === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === "/" && next === "*") {
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        if (sql.startsWith("/*", i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith("*/", i)) {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (c === ";") {
      if (sawContent) afterSemicolon = true;
      i++;
    } else if (c === "'" || ((c === "E" || c === "e") && next === "'")) {
      const start = i;
      const escapes = c !== "'";
      i += escapes ? 2 : 1;
      while (i < sql.length) {
        const ch = sql[i];
        if (escapes && ch === "\\") i += 2;
        else if (ch === "'" && sql[i + 1] === "'") i += 2;
        else if (ch === "'") break;
        else i++;
      }
      i++;
      content(start, i);
      if (words.length < WORD_LIMIT) words.push("'");
    } else if (c === '"') {
      const start = i;
      i++;
      while (i < sql.length) {
        if (sql[i] === '"' && sql[i + 1] === '"') i += 2;
        else if (sql[i] === '"') break;
        else i++;
      }
      i++;
      content(start, i);
      if (words.length < WORD_LIMIT) words.push(sql.slice(start + 1, i - 1).replace(/""/g, '"'));
    } else if (c === "$" && /[0-9]/.test(next)) {
      const match = /^\$([0-9]+)/.exec(sql.slice(i, i + 12));
      const n = Number(match?.[1] ?? "0");
      if (n > maxParam) maxParam = n;
      content(i, i + (match?.[0].length ?? 1));
      i += match?.[0].length ?? 1;
    } else if (c === "$" && dollarQuoteEnd(sql, i) >= 0) {
      const start = i;
      i = dollarQuoteEnd(sql, i);
      content(start, i);
      if (words.length < WORD_LIMIT) words.push("'");
    } else if (/[0-9]/.test(c)) {
      const start = i;
      while (i < sql.length && /[0-9.eE]/.test(sql[i] ?? "")) i++;
      content(start, i);
      if (words.length < WORD_LIMIT) words.push(sql.slice(start, i).toLowerCase());
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      const start = i;
      while (i < sql.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[i] ?? "")) i++;
      content(start, i);
      if (words.length < WORD_LIMIT) words.push(sql.slice(start, i).toLowerCase());
    } else {
      content(i, i + 1);
      if (words.length < WORD_LIMIT) words.push(c);
      i++;
    }
  }
  return {
    words,
    text: textStart < 0 ? "" : sql.slice(textStart, textEnd),
    maxParam,
    empty: !sawContent,
    multiple,
  };
}
