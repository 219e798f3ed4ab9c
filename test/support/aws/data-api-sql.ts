// The Data API's side of a statement: `:name` parameters bound as the JDBC driver binds them, values as typed Fields.
// Pinned to the RDS Data API reference (SqlParameter, Field, ColumnMetadata, ResultSetOptions) and "Calling the Amazon
// RDS Data API" (type hints DATE, DECIMAL, JSON, TIME, TIMESTAMP, UUID; string values otherwise travel as VARCHAR).

import type { ColumnMetadata, Field, SqlParameter } from "@aws-sdk/client-rds-data";
import { ServiceError } from "./service.ts";

const bad = (message: string): ServiceError => new ServiceError(400, "BadRequestException", message);

/** A parameter value as it arrives in JSON (blobs base64). */
interface WireValue {
  readonly isNull?: boolean;
  readonly stringValue?: string;
  readonly longValue?: number;
  readonly doubleValue?: number;
  readonly booleanValue?: boolean;
  readonly blobValue?: string;
  readonly arrayValue?: unknown;
}

/** The cast each value kind gets: what `setString`/`setLong`/… make the parameter's type on the server. */
function castOf(parameter: SqlParameter): string {
  const hints: Record<string, string> = {
    DATE: "date",
    DECIMAL: "numeric",
    JSON: "json",
    TIME: "time",
    TIMESTAMP: "timestamp",
    UUID: "uuid",
  };
  const v = (parameter.value ?? {}) as WireValue;
  if (v.isNull === true) return "";
  if (parameter.typeHint !== undefined) {
    const hint = hints[parameter.typeHint];
    if (hint === undefined) throw bad(`invalid typeHint ${parameter.typeHint}`);
    if (v.stringValue === undefined) throw bad(`typeHint ${parameter.typeHint} needs a stringValue`);
    return `::${hint}`;
  }
  if (v.stringValue !== undefined) return "::varchar";
  if (v.longValue !== undefined) return "::int8";
  if (v.doubleValue !== undefined) return "::float8";
  if (v.booleanValue !== undefined) return "::bool";
  if (v.blobValue !== undefined) return "::bytea";
  if (v.arrayValue !== undefined) throw bad("Array parameters are not supported.");
  throw bad("a parameter has no value");
}

function boundValue(parameter: SqlParameter): unknown {
  const v = (parameter.value ?? {}) as WireValue;
  if (v.isNull === true) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.longValue !== undefined) return String(v.longValue);
  if (v.doubleValue !== undefined) return String(v.doubleValue);
  if (v.booleanValue !== undefined) return v.booleanValue;
  if (v.blobValue !== undefined) return Buffer.from(v.blobValue, "base64");
  return null;
}

/**
 * Rewrites `:name` placeholders (outside literals, quoted identifiers, comments and `::` casts) to `$n` with the cast
 * the parameter's kind implies; a placeholder without a parameter is a BadRequestException.
 */
export function bindNamed(
  sql: string,
  parameters: readonly SqlParameter[],
): { text: string; values: unknown[] } {
  const byName = new Map(parameters.map((p) => [p.name ?? "", p]));
  const order: string[] = [];
  let out = "";
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    const rest = sql.slice(i);
    const dollar = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(rest);
    if (c === "'" || c === '"') {
      let j = i + 1;
      const escapes = c === "'" && /[eE]$/.test(sql.slice(0, i));
      while (j < sql.length) {
        if (escapes && sql[j] === "\\") j += 2;
        else if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (rest.startsWith("--")) {
      const end = sql.indexOf("\n", i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (rest.startsWith("/*")) {
      const end = sql.indexOf("*/", i + 2);
      const stop = end < 0 ? sql.length : end + 2;
      out += sql.slice(i, stop);
      i = stop;
    } else if (dollar !== null && !/[A-Za-z0-9_]$/.test(sql.slice(0, i))) {
      const end = sql.indexOf(dollar[0], i + dollar[0].length);
      const stop = end < 0 ? sql.length : end + dollar[0].length;
      out += sql.slice(i, stop);
      i = stop;
    } else if (rest.startsWith("::")) {
      out += "::";
      i += 2;
    } else if (c === ":" && /^:[A-Za-z_][A-Za-z0-9_]*/.test(rest)) {
      const name = (/^:([A-Za-z_][A-Za-z0-9_]*)/.exec(rest) as RegExpExecArray)[1] as string;
      const parameter = byName.get(name);
      if (parameter === undefined) throw bad(`No value specified for parameter ${name}`);
      let index = order.indexOf(name);
      if (index < 0) index = order.push(name) - 1;
      out += `$${index + 1}${castOf(parameter)}`;
      i += name.length + 1;
    } else {
      out += c;
      i++;
    }
  }
  return { text: out, values: order.map((name) => boundValue(byName.get(name) as SqlParameter)) };
}

/** `java.sql.Types` of the PostgreSQL types the JDBC driver maps (others are OTHER, 1111). */
const JDBC_TYPES: Readonly<Record<string, number>> = {
  bool: -7,
  int2: 5,
  int4: 4,
  int8: -5,
  oid: -5,
  float4: 7,
  float8: 8,
  numeric: 2,
  bpchar: 1,
  varchar: 12,
  text: 12,
  name: 12,
  date: 91,
  time: 92,
  timetz: 92,
  timestamp: 93,
  timestamptz: 93,
  bytea: -2,
};

/** Column metadata as the Data API reports it (JDBC type names: `int4`, `varchar`, `_text`, …). */
export function columnMetadata(name: string, typeName: string, tableName: string): ColumnMetadata {
  const isArray = typeName.startsWith("_");
  return {
    name,
    label: name,
    typeName,
    type: isArray ? 2003 : (JDBC_TYPES[typeName] ?? 1111),
    schemaName: "",
    tableName,
    isAutoIncrement: false,
    isSigned: ["int2", "int4", "int8", "float4", "float8", "numeric"].includes(typeName),
    isCurrency: false,
    isCaseSensitive: ["text", "varchar", "bpchar", "name"].includes(typeName),
    nullable: 2,
    precision: 0,
    scale: 0,
    ...(isArray ? { arrayBaseColumnType: JDBC_TYPES[typeName.slice(1)] ?? 1111 } : {}),
  };
}

/** Parses a one-dimensional PostgreSQL array literal into its text elements (null for NULL). */
function arrayElements(text: string): (string | null)[] {
  const inner = text.slice(1, -1);
  const out: (string | null)[] = [];
  let i = 0;
  while (i < inner.length) {
    if (inner[i] === '"') {
      let j = i + 1;
      let value = "";
      while (j < inner.length && inner[j] !== '"') {
        if (inner[j] === "\\") j++;
        value += inner[j];
        j++;
      }
      out.push(value);
      i = j + 2;
    } else {
      const end = inner.indexOf(",", i);
      const raw = inner.slice(i, end < 0 ? inner.length : end);
      out.push(raw === "NULL" ? null : raw);
      i = end < 0 ? inner.length : end + 1;
    }
  }
  return out;
}

/** Strips the zero UTC offset PostgreSQL prints for timestamptz (the driver reads it in the JVM's UTC zone). */
function timestampText(typeName: string, text: string): string {
  return typeName === "timestamptz" ? text.replace(/\+00(?::00)?$/, "") : text;
}

/** Converts one text value from PostgreSQL to the Field the Data API returns for its type. */
export function fieldOf(
  typeName: string,
  text: string | null,
  options: { decimalAsString: boolean; longAsString: boolean },
): Field {
  if (text === null) return { isNull: true };
  switch (typeName) {
    case "bool":
      return { booleanValue: text === "t" };
    case "int2":
    case "int4":
      return { longValue: Number(text) };
    case "int8":
      return options.longAsString ? { stringValue: text } : { longValue: Number(text) };
    case "float4":
    case "float8":
      return { doubleValue: Number(text) };
    case "numeric":
      return options.decimalAsString ? { stringValue: text } : { doubleValue: Number(text) };
    case "bytea":
      return { blobValue: Buffer.from(text.replace(/^\\x/, ""), "hex") };
    default:
      break;
  }
  if (typeName.startsWith("_") && text.startsWith("{")) {
    if (text.includes("{", 1)) throw bad("multi-dimensional arrays are not supported by the stand-in");
    const base = typeName.slice(1);
    const items = arrayElements(text);
    if (["int2", "int4", "int8"].includes(base))
      return { arrayValue: { longValues: items.map((s) => (s === null ? (null as never) : Number(s))) } };
    if (["float4", "float8"].includes(base))
      return { arrayValue: { doubleValues: items.map((s) => (s === null ? (null as never) : Number(s))) } };
    if (base === "bool")
      return { arrayValue: { booleanValues: items.map((s) => (s === null ? (null as never) : s === "t")) } };
    return {
      arrayValue: { stringValues: items.map((s) => (s === null ? (null as never) : timestampText(base, s))) },
    };
  }
  return { stringValue: timestampText(typeName, text) };
}
