// A statement's text with its protected lookup values hidden from the planner: the estimate of a value-blind read.

import { pgScan } from "./pg-wasm.ts";
import type { LookupLiteral } from "./types.ts";

const VALUE_TOKENS = new Set(["SCONST", "ICONST", "FCONST", "PARAM", "BCONST", "XCONST", "USCONST"]);

/**
 * `statement` with each value of `literals` whose column is in `columns` wrapped as `(SELECT <value>::<type>)`: a
 * scalar subquery the planner cannot see into, so it estimates `col = (SELECT ...)` from the column's statistics
 * in general (one value in `n_distinct`), never from the value's own frequency. Locations are byte offsets into
 * the statement's UTF-8 text. Undefined when a value is not where the analysis said (the caller fails closed).
 */
export function blindLookups(
  statement: string,
  literals: readonly LookupLiteral[],
  columns: ReadonlySet<string>,
): string | undefined {
  const wanted = literals.filter((l) => columns.has(l.column));
  if (wanted.length === 0) return statement;
  const bytes = new TextEncoder().encode(statement);
  const tokens = pgScan(statement);
  const spans: { start: number; end: number; type: string }[] = [];
  for (const literal of wanted) {
    const at = tokens.findIndex((t) => t.start === literal.location);
    let token = tokens[at];
    if (token === undefined) return undefined;
    const start = token.start;
    // A negative number is one constant to the parser, two tokens to the scanner.
    if ((token.text === "-" || token.text === "+") && tokens[at + 1] !== undefined) token = tokens[at + 1];
    if (token === undefined || !VALUE_TOKENS.has(token.tokenName)) return undefined;
    if (!/^[a-z][a-z0-9 _(),]*(\[\])?$/i.test(literal.type)) return undefined;
    spans.push({ start, end: token.end, type: literal.type });
  }
  spans.sort((a, b) => b.start - a.start);
  const decoder = new TextDecoder();
  let text = statement;
  let tail = bytes.length;
  const parts: string[] = [];
  for (const span of spans) {
    if (span.end > tail) return undefined;
    parts.push(decoder.decode(bytes.subarray(span.end, tail)));
    parts.push(`(SELECT ${decoder.decode(bytes.subarray(span.start, span.end))}::${span.type})`);
    tail = span.start;
  }
  parts.push(decoder.decode(bytes.subarray(0, tail)));
  text = parts.reverse().join("");
  return text;
}
