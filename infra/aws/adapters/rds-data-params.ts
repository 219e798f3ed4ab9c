// Rewrites `$n` placeholders to the Data API's `:pN` named parameters, found by PostgreSQL's own scanner.

import type { SqlParameter } from "@aws-sdk/client-rds-data";
import { BadRequestError } from "#shared/errors.ts";
import type { SqlParam } from "#shared/ports.ts";
import { type PgScanToken, pgScan } from "#shared/sql/pg-wasm.ts";

/** A statement ready for `ExecuteStatement`. */
export interface DataApiStatement {
  readonly sql: string;
  readonly parameters: SqlParameter[];
}

/** The name a `$n` placeholder becomes. */
function parameterName(n: number): string {
  return `p${n}`;
}

function arrayLiteralItem(item: string | number | boolean | null): string {
  if (item === null) return "NULL";
  return `"${String(item).replace(/["\\]/g, "\\$&")}"`;
}

/**
 * The Data API value of one parameter. The Data API refuses array parameters, so an array travels as its
 * PostgreSQL array literal (`{"a","b"}`) and the statement casts it (`$1::text[]`), as it must on any host.
 */
function sqlParameterValue(value: SqlParam): SqlParameter["value"] {
  if (value === null) return { isNull: true };
  if (typeof value === "boolean") return { booleanValue: value };
  if (typeof value === "number") {
    return Number.isSafeInteger(value) ? { longValue: value } : { doubleValue: value };
  }
  if (typeof value === "string") return { stringValue: value };
  return { stringValue: `{${value.map(arrayLiteralItem).join(",")}}` };
}

/** Types a string value can keep as the Data API sends it (VARCHAR): no cast needed. */
const TEXT_TYPES = new Set(["text", "character varying", "unknown", "name", "character"]);

/**
 * The cast that gives a string parameter the type PostgreSQL inferred for `$n` (what an untyped parameter gets on the
 * local host): the Data API binds every string as VARCHAR, so `uuid_col = $1` would otherwise fail on AWS only.
 */
function castFor(type: string | undefined): string {
  if (type === undefined || TEXT_TYPES.has(type)) return "";
  if (!/^[a-z_][a-z0-9_ ]*(\(\d+(,\d+)?\))?(\[\])*$/.test(type)) return "";
  return `::${type}`;
}

/**
 * Replaces every PARAM token the PostgreSQL scanner finds (never text inside literals, quoted identifiers or
 * comments) with `(:pN)`, parenthesized so a following cast or subscript binds as it did to `$n`. Token
 * offsets are byte offsets into the UTF-8 text. Load the scanner (`loadPgScanner()`) first.
 */
export function toDataApiStatement(
  sql: string,
  params: readonly SqlParam[],
  types: readonly (string | undefined)[] = [],
): DataApiStatement {
  let tokens: PgScanToken[];
  try {
    tokens = pgScan(sql);
  } catch (cause) {
    throw new BadRequestError("invalid_sql", "the SQL text could not be scanned", { cause });
  }
  const bytes = Buffer.from(sql, "utf8");
  const parts: string[] = [];
  const used = new Set<number>();
  let offset = 0;
  for (const token of tokens) {
    if (token.tokenName !== "PARAM") continue;
    const n = Number(token.text.slice(1));
    if (!Number.isInteger(n) || n < 1 || n > params.length) {
      throw new BadRequestError(
        "invalid_params",
        `the statement references $${n} but ${params.length} were given`,
      );
    }
    const cast = typeof params[n - 1] === "string" ? castFor(types[n - 1]) : "";
    parts.push(bytes.subarray(offset, token.start).toString("utf8"), `(:${parameterName(n)})${cast}`);
    offset = token.end;
    used.add(n);
  }
  parts.push(bytes.subarray(offset).toString("utf8"));
  const parameters = [...used]
    .sort((a, b) => a - b)
    .map((n) => ({ name: parameterName(n), value: sqlParameterValue(params[n - 1] ?? null) }));
  return { sql: parts.join(""), parameters };
}
