// Decodes PostgreSQL's text output into JSON values, by type, so every executor returns the same shapes.

import { QueryFailedError } from "#shared/errors.ts";
import { jsonTextProblem } from "#shared/sql/json-text.ts";
import type { CellValue, Row } from "#shared/sql/types.ts";

/** Type OIDs and names of the built-in types the gateway decodes specially (everything else stays text). */
const SCALAR_TYPES: Readonly<Record<number, { name: string; decode: (text: string) => CellValue }>> = {
  16: { name: "bool", decode: (t) => t === "t" || t === "true" },
  17: { name: "bytea", decode: (t) => t },
  20: { name: "int8", decode: (t) => t },
  21: { name: "int2", decode: Number },
  23: { name: "int4", decode: Number },
  26: { name: "oid", decode: Number },
  25: { name: "text", decode: (t) => t },
  114: { name: "json", decode: parseJson },
  142: { name: "xml", decode: (t) => t },
  700: { name: "float4", decode: decodeFloat },
  701: { name: "float8", decode: decodeFloat },
  790: { name: "money", decode: (t) => t },
  1042: { name: "bpchar", decode: (t) => t },
  1043: { name: "varchar", decode: (t) => t },
  1082: { name: "date", decode: (t) => t },
  1083: { name: "time", decode: (t) => t },
  1114: { name: "timestamp", decode: (t) => isoTimestamp(t, false) },
  1184: { name: "timestamptz", decode: (t) => isoTimestamp(t, true) },
  1186: { name: "interval", decode: (t) => t },
  1266: { name: "timetz", decode: (t) => t },
  1700: { name: "numeric", decode: (t) => t },
  2950: { name: "uuid", decode: (t) => t },
  3802: { name: "jsonb", decode: parseJson },
  19: { name: "name", decode: (t) => t },
  18: { name: "char", decode: (t) => t },
};

/** Array type OID → element type OID, for the built-in array types. */
const ARRAY_ELEMENTS: Readonly<Record<number, number>> = {
  1000: 16,
  1001: 17,
  1002: 18,
  1003: 19,
  1005: 21,
  1007: 23,
  1009: 25,
  1014: 1042,
  1015: 1043,
  1016: 20,
  1021: 700,
  1022: 701,
  1028: 26,
  1115: 1114,
  1182: 1082,
  1183: 1083,
  1185: 1184,
  1187: 1186,
  1231: 1700,
  1270: 1266,
  199: 114,
  143: 142,
  2951: 2950,
  3807: 3802,
  791: 790,
};

/**
 * Session settings every executor applies so text output is predictable (ISO dates, UTC, full float precision, hex
 * bytea), as [name, value] pairs; each executor's form of them is derived from this one list.
 */
export const SESSION_SETTINGS: readonly (readonly [string, string])[] = [
  ["DateStyle", "ISO, YMD"],
  ["TimeZone", "UTC"],
  ["IntervalStyle", "iso_8601"],
  ["extra_float_digits", "1"],
  ["bytea_output", "hex"],
];

/** The settings as `SET` statements (PGlite runs them once on its single connection). */
export const SESSION_SETTINGS_SQL = SESSION_SETTINGS.map(([name, value]) => `SET ${name} = '${value}'`).join(
  "; ",
);

/**
 * The settings as a libpq `options` startup parameter (`-c name=value`, applied to every pooled connection); the
 * server splits it on spaces, so spaces and backslashes in values are backslash-escaped.
 */
export const SESSION_SETTINGS_OPTIONS = SESSION_SETTINGS.map(
  ([name, value]) => `-c ${name}=${value.replace(/[\\ ]/g, "\\$&")}`,
).join(" ");

/**
 * Whether a type's values decode into nested structures (json, jsonb, arrays): objects and arrays that take many
 * times their text's size on the heap, and that decoding and masking walk element by element.
 */
export function decodesToStructure(oid: number): boolean {
  return oid === 114 || oid === 3802 || ARRAY_ELEMENTS[oid] !== undefined;
}

/** The short type name of a type OID (`int4`, `_text`, ...), or `oid:<n>` for types the gateway doesn't know. */
export function typeName(oid: number): string {
  const scalar = SCALAR_TYPES[oid];
  if (scalar !== undefined) return scalar.name;
  const element = ARRAY_ELEMENTS[oid];
  if (element !== undefined) return `_${SCALAR_TYPES[element]?.name ?? `oid:${element}`}`;
  return `oid:${oid}`;
}

function decodeFloat(text: string): CellValue {
  const value = Number(text);
  return Number.isFinite(value) ? value : text;
}

/**
 * How deep a JSON value may nest: masking walks a value by recursion, and PostgreSQL's own JSON accepts nesting far
 * past what that stack holds (5,000 levels answered a 503, later a 500: the thirty-first outside attack).
 */
export const MAX_JSON_DEPTH = 1_000;

function parseJson(text: string): CellValue {
  const problem = jsonTextProblem(text, MAX_JSON_DEPTH);
  if (problem === "too_deep")
    throw new QueryFailedError(
      "value_too_deep",
      `a JSON value of the result nests deeper than the gateway masks (${MAX_JSON_DEPTH} levels)`,
    );
  // JSON.parse would hand back another value (an infinity, a zero, a number of 2^53 or more off by units): refused.
  if (problem === "not_representable")
    throw new QueryFailedError(
      "value_not_representable",
      "a JSON number of the result is beyond a double's range, or of 2^53 or more and not carried exactly; select the value as text",
    );
  return JSON.parse(text) as CellValue;
}

function isoTimestamp(text: string, withZone: boolean): string {
  const match = /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2}(?::\d{2}(?::\d{2})?)?)?$/.exec(
    text,
  );
  if (match === null) return text;
  const zone = match[3];
  if (!withZone || zone === undefined) return `${match[1]}T${match[2]}`;
  return `${match[1]}T${match[2]}${zone === "+00" ? "Z" : zone.length === 3 ? `${zone}:00` : zone}`;
}

/** Decodes one value from PostgreSQL's text format; `null` stays null. */
export function decodeValue(oid: number, text: string | null): CellValue {
  if (text === null) return null;
  const scalar = SCALAR_TYPES[oid];
  if (scalar !== undefined) return scalar.decode(text);
  const element = ARRAY_ELEMENTS[oid];
  if (element !== undefined) return parseArray(text, (item) => decodeValue(element, item));
  return text;
}

/**
 * Decodes a page of text rows where they are, each value by its column's type OID (text when unknown), and
 * returns the same arrays as rows: for pages the caller owns and reads once (an executor's fetched page), so no
 * copy of every row is made.
 */
export function decodeRowsInPlace(page: (string | null)[][], oids: readonly number[]): Row[] {
  const rows = page as unknown as Row[];
  for (const row of rows)
    for (let i = 0; i < row.length; i++) row[i] = decodeValue(oids[i] ?? 25, row[i] as string | null);
  return rows;
}

/** Parses PostgreSQL's array literal output (`{a,"b c",NULL}`, nested, with optional bounds prefix). */
export function parseArray(text: string, decode: (item: string | null) => CellValue): CellValue[] {
  let i = 0;
  if (text.startsWith("[")) {
    const eq = text.indexOf("=");
    if (eq < 0) throw new TypeError("malformed array");
    i = eq + 1;
  }
  const parseLevel = (): CellValue[] => {
    if (text[i] !== "{") throw new TypeError("malformed array");
    i++;
    const items: CellValue[] = [];
    if (text[i] === "}") {
      i++;
      return items;
    }
    for (;;) {
      if (text[i] === "{") {
        items.push(parseLevel());
      } else if (text[i] === '"') {
        i++;
        let value = "";
        while (i < text.length && text[i] !== '"') {
          if (text[i] === "\\") i++;
          value += text[i] ?? "";
          i++;
        }
        i++;
        items.push(decode(value));
      } else {
        let end = i;
        while (end < text.length && text[end] !== "," && text[end] !== "}") end++;
        const raw = text.slice(i, end);
        i = end;
        items.push(raw === "NULL" ? null : decode(raw));
      }
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "}") {
        i++;
        return items;
      }
      throw new TypeError("malformed array");
    }
  };
  return parseLevel();
}
