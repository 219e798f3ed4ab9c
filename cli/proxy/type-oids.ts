// PostgreSQL type OIDs (and sizes) of the gateway's column type names, for RowDescription and ParameterDescription.

/** OID and `typlen` of the built-in types the gateway names (`typeName` in shared/sql/values.ts). */
const SCALARS: Readonly<Record<string, { oid: number; size: number; array: number }>> = {
  bool: { oid: 16, size: 1, array: 1000 },
  bytea: { oid: 17, size: -1, array: 1001 },
  char: { oid: 18, size: 1, array: 1002 },
  name: { oid: 19, size: 64, array: 1003 },
  int8: { oid: 20, size: 8, array: 1016 },
  int2: { oid: 21, size: 2, array: 1005 },
  int4: { oid: 23, size: 4, array: 1007 },
  text: { oid: 25, size: -1, array: 1009 },
  oid: { oid: 26, size: 4, array: 1028 },
  json: { oid: 114, size: -1, array: 199 },
  xml: { oid: 142, size: -1, array: 143 },
  float4: { oid: 700, size: 4, array: 1021 },
  float8: { oid: 701, size: 8, array: 1022 },
  money: { oid: 790, size: 8, array: 791 },
  bpchar: { oid: 1042, size: -1, array: 1014 },
  varchar: { oid: 1043, size: -1, array: 1015 },
  date: { oid: 1082, size: 4, array: 1182 },
  time: { oid: 1083, size: 8, array: 1183 },
  timestamp: { oid: 1114, size: 8, array: 1115 },
  timestamptz: { oid: 1184, size: 8, array: 1185 },
  interval: { oid: 1186, size: 16, array: 1187 },
  timetz: { oid: 1266, size: 12, array: 1270 },
  numeric: { oid: 1700, size: -1, array: 1231 },
  uuid: { oid: 2950, size: 16, array: 2951 },
  jsonb: { oid: 3802, size: -1, array: 3807 },
};

/** The `text` type: what a column of a type the gateway does not name is described as. */
export const TEXT_OID = 25;

/** A column type as RowDescription carries it. */
export interface WireType {
  readonly oid: number;
  /** `typlen`: the fixed size in bytes, or -1 for variable-length types. */
  readonly size: number;
}

/**
 * The wire type of a gateway type name: `int4`, `_text` (arrays), `oid:1234` (types the gateway does not name,
 * passed on by OID). Anything else is described as text, which is how its value arrives.
 */
export function wireType(name: string): WireType {
  const scalar = SCALARS[name];
  if (scalar !== undefined) return { oid: scalar.oid, size: scalar.size };
  if (name.startsWith("_")) {
    const element = SCALARS[name.slice(1)];
    if (element !== undefined) return { oid: element.array, size: -1 };
  }
  const byOid = /^oid:([0-9]{1,10})$/.exec(name);
  if (byOid !== null) return { oid: Number(byOid[1]), size: -1 };
  return { oid: TEXT_OID, size: -1 };
}

/** The names of the scalar types this table knows (for tests that compare it with the gateway's decoder). */
export const KNOWN_SCALAR_TYPES: readonly string[] = Object.keys(SCALARS);
