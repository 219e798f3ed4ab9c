// Converts RDS Data API column metadata and typed `Field`s into the same JSON shapes shared/sql/values.ts gives.

import type { ArrayValue, ColumnMetadata, Field } from "@aws-sdk/client-rds-data";
import type { CellValue, ResultColumn, Row } from "#shared/sql/types.ts";
import { decodeValue, typeName } from "#shared/sql/values.ts";

/** Highest built-in type OID worth scanning when inverting `typeName`. */
const MAX_BUILTIN_OID = 4_000;

/** Names the Data API (its JDBC layer) reports for types it renames. */
const ALIASES: Readonly<Record<string, string>> = {
  serial: "int4",
  bigserial: "int8",
  smallserial: "int2",
  "timestamp with time zone": "timestamptz",
  "timestamp without time zone": "timestamp",
};

let oids: ReadonlyMap<string, number> | undefined;

/**
 * Type name → OID for every built-in type `shared/sql/values.ts` knows (its `typeName`, inverted), built at the
 * first column's metadata rather than at cold start (4,000 lookups).
 */
function builtinOids(): ReadonlyMap<string, number> {
  if (oids !== undefined) return oids;
  const map = new Map<string, number>();
  for (let oid = 1; oid <= MAX_BUILTIN_OID; oid++) {
    const name = typeName(oid);
    if (!name.startsWith("oid:") && !map.has(name)) map.set(name, oid);
  }
  oids = map;
  return map;
}

/** PostgreSQL's fixed OIDs (pg_type.dat) of the types decoded specially here. */
const INT8 = 20;
const NUMERIC = 1700;
const TIMESTAMPTZ = 1184;
const ZONE_SUFFIX = /[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?$|Z$/;

/** How a column's values are decoded: its OID (0 when the gateway doesn't know the type) and element OID. */
export interface ColumnDecoder {
  readonly column: ResultColumn;
  readonly oid: number;
  /** For array columns, the element type's OID (0 when unknown); undefined for scalars. */
  readonly elementOid: number | undefined;
}

/** The OID of a Data API type name, or 0 when it is not a built-in type the gateway decodes. */
function oidOfTypeName(raw: string | undefined): number {
  const lowered = (raw ?? "").toLowerCase();
  const name = ALIASES[lowered] ?? lowered;
  return builtinOids().get(name) ?? 0;
}

/** Builds the decoder of each result column from the Data API's column metadata. */
export function columnDecoders(metadata: readonly ColumnMetadata[]): ColumnDecoder[] {
  return metadata.map((meta) => {
    const raw = (meta.typeName ?? "").toLowerCase();
    const oid = oidOfTypeName(raw);
    const isArray = raw.startsWith("_") || meta.arrayBaseColumnType !== undefined;
    const elementOid = isArray ? oidOfTypeName(raw.startsWith("_") ? raw.slice(1) : raw) : undefined;
    const type = oid === 0 ? raw || "unknown" : typeName(oid);
    return {
      column: { name: meta.label ?? meta.name ?? "?column?", typeOid: oid, type },
      oid,
      elementOid,
    };
  });
}

function decodeText(oid: number, text: string): CellValue {
  if (oid === 0) return text;
  if (oid === TIMESTAMPTZ && !ZONE_SUFFIX.test(text)) return decodeValue(oid, `${text}+00`);
  return decodeValue(oid, text);
}

function decodeLong(oid: number, value: number): CellValue {
  return oid === INT8 || oid === NUMERIC ? String(value) : value;
}

function decodeArray(array: ArrayValue, elementOid: number): CellValue[] {
  if (array.arrayValues !== undefined)
    return array.arrayValues.map((a) => (a === null ? null : decodeArray(a, elementOid)));
  if (array.stringValues !== undefined)
    return array.stringValues.map((s) => (s === null ? null : decodeText(elementOid, s)));
  if (array.longValues !== undefined)
    return array.longValues.map((n) => (n === null ? null : decodeLong(elementOid, n)));
  if (array.doubleValues !== undefined)
    return array.doubleValues.map((n) => (n === null ? null : elementOid === NUMERIC ? String(n) : n));
  if (array.booleanValues !== undefined) return array.booleanValues.map((b) => (b === null ? null : b));
  return [];
}

/** Converts one `Field` of a column to its JSON value (see docs/design.md "Values"). */
function fieldValue(field: Field, decoder: ColumnDecoder): CellValue {
  if (field.isNull === true) return null;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.longValue !== undefined) return decodeLong(decoder.oid, field.longValue);
  if (field.doubleValue !== undefined)
    return decoder.oid === NUMERIC ? String(field.doubleValue) : field.doubleValue;
  if (field.stringValue !== undefined) return decodeText(decoder.oid, field.stringValue);
  if (field.blobValue !== undefined) return `\\x${Buffer.from(field.blobValue).toString("hex")}`;
  if (field.arrayValue !== undefined) return decodeArray(field.arrayValue, decoder.elementOid ?? 0);
  return null;
}

/** Converts a page of Data API records to rows. */
export function recordsToRows(records: readonly Field[][], decoders: readonly ColumnDecoder[]): Row[] {
  return records.map((record) =>
    record.map((field, i) => {
      const decoder = decoders[i];
      return decoder === undefined ? null : fieldValue(field, decoder);
    }),
  );
}
