// Parses exactly one SQL statement with PostgreSQL's own parser, turning every failure into a BadRequestError.
import type { Node } from "@pgsql/types";
import { BadRequestError } from "#shared/errors.ts";
import { isPgWasmLoaded, loadPgWasm, PgParserFault, PgSyntaxError, pgParse } from "./pg-wasm.ts";

/** The longest statement accepted, in UTF-16 code units (JavaScript string length). */
export const MAX_SQL_LENGTH = 1_000_000;

const MAX_MESSAGE_LENGTH = 300;

/** One parsed statement. */
export interface ParsedStatement {
  /** The whole input text. */
  readonly sql: string;
  /** The raw parse tree of the statement, e.g. `{ SelectStmt: {...} }`. */
  readonly node: Node;
  /** The node's type, e.g. `SelectStmt`. */
  readonly type: string;
  /** Where the statement lies in `sql` (UTF-16 offsets, `end` exclusive), as PostgreSQL's parser delimits it. */
  readonly location: { readonly start: number; readonly end: number };
}

/** Loads the WebAssembly parser; call (and await) once before {@link parseStatement}. Idempotent. */
export function loadSqlParser(): Promise<void> {
  return loadPgWasm();
}

function invalid(reason: string, message: string, extra: Record<string, unknown> = {}, cause?: unknown) {
  return new BadRequestError("invalid_sql", message, { details: { reason, ...extra }, cause });
}

/**
 * Rejects text the parser must not see: NUL (libpg-query and the wire protocol both end the text there,
 * so the parser and the server would disagree about the statement) and lone UTF-16 surrogates (not
 * encodable as UTF-8; PostgreSQL would refuse them, the parser would see replacement bytes).
 */
function checkCharacters(sql: string): void {
  for (let i = 0; i < sql.length; i++) {
    const code = sql.charCodeAt(i);
    if (code === 0) throw invalid("nul_character", "The SQL text contains a NUL character.");
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = sql.charCodeAt(i + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      throw invalid("invalid_unicode", "The SQL text is not well-formed Unicode (lone surrogate).");
    }
  }
}

function byteOffsetToIndex(sql: string, byteOffset: number, ascii: boolean): number {
  if (ascii) return byteOffset;
  let bytes = 0;
  let i = 0;
  while (i < sql.length && bytes < byteOffset) {
    const code = sql.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
    i++;
  }
  return i;
}

function nodeType(node: Node): string {
  for (const key in node) return key;
  return "Unknown";
}

/**
 * Parses `sql`, which must hold exactly one statement (surrounding comments, whitespace and semicolons
 * are fine). Synchronous; {@link loadSqlParser} must have completed.
 *
 * Throws only `BadRequestError`: `multiple_statements` for more than one statement, otherwise
 * `invalid_sql` with `details.reason` one of `empty`, `too_long` (over {@link MAX_SQL_LENGTH}),
 * `nul_character`, `invalid_unicode`, `syntax` (PostgreSQL's message, `details.position` its 1-based
 * character position), `too_complex` (the parser ran out of stack or memory), `parser_unavailable`
 * (not loaded, or restarting after over-complex input).
 */
export function parseStatement(sql: string): ParsedStatement {
  if (typeof sql !== "string") throw invalid("empty", "The SQL text must be a string.");
  if (sql.length > MAX_SQL_LENGTH) {
    throw invalid("too_long", `The SQL text is longer than ${MAX_SQL_LENGTH} characters.`);
  }
  checkCharacters(sql);
  if (sql.length === 0) throw invalid("empty", "The SQL text contains no statement.");
  if (!isPgWasmLoaded()) throw invalid("parser_unavailable", "The SQL parser is not loaded.");
  let result: ReturnType<typeof pgParse>;
  try {
    result = pgParse(sql);
  } catch (error) {
    if (error instanceof PgSyntaxError) {
      const message =
        error.message.length > MAX_MESSAGE_LENGTH
          ? `${error.message.slice(0, MAX_MESSAGE_LENGTH)}...`
          : error.message;
      throw invalid("syntax", message, { position: error.position }, error);
    }
    throw error instanceof PgParserFault && error.restarting
      ? invalid("parser_unavailable", "The SQL parser is restarting; retry shortly.", {}, error)
      : invalid("too_complex", "The statement is too deeply nested to parse.", {}, error);
  }
  const statements = result.stmts ?? [];
  const first = statements[0];
  if (first === undefined) throw invalid("empty", "The SQL text contains no statement.");
  if (statements.length > 1) {
    throw new BadRequestError("multiple_statements", "The SQL text must contain exactly one statement.", {
      details: { count: statements.length },
    });
  }
  const node = first.stmt;
  if (node === undefined) throw invalid("empty", "The SQL text contains no statement.");
  const ascii = Buffer.byteLength(sql, "utf8") === sql.length;
  const startByte = first.stmt_location ?? 0;
  const start = byteOffsetToIndex(sql, startByte, ascii);
  const end =
    first.stmt_len === undefined || first.stmt_len === 0
      ? sql.length
      : byteOffsetToIndex(sql, startByte + first.stmt_len, ascii);
  return { sql, node, type: nodeType(node), location: { start, end } };
}
