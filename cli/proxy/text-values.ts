// Turns the gateway's JSON cell values back into PostgreSQL's text format, by the column's type name.

const ISO_TIMESTAMP = /^(\d{4,}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:\d{2}(?::\d{2})?)?$/;

function timestampText(value: string): string {
  const match = ISO_TIMESTAMP.exec(value);
  if (match === null) return value;
  const zone = match[3];
  const suffix = zone === undefined ? "" : zone === "Z" ? "+00" : zone.replace(/:00$/, "");
  return `${match[1]} ${match[2]}${suffix}`;
}

function arrayElement(value: unknown, element: string): string {
  if (value === null || value === undefined) return "NULL";
  if (Array.isArray(value)) return arrayText(value, element);
  const text = scalarText(value, element);
  if (text === "" || /^null$/i.test(text) || /[{}",\\\s]/.test(text))
    return `"${text.replace(/[\\"]/g, "\\$&")}"`;
  return text;
}

function arrayText(values: readonly unknown[], element: string): string {
  return `{${values.map((v) => arrayElement(v, element)).join(",")}}`;
}

function scalarText(value: unknown, type: string): string {
  if (typeof value === "boolean") return value ? "t" : "f";
  if (typeof value === "number") return String(value);
  if (typeof value === "string")
    return type === "timestamp" || type === "timestamptz" ? timestampText(value) : value;
  return JSON.stringify(value);
}

/**
 * The text PostgreSQL would send for a value the gateway decoded (shared/sql/values.ts): booleans `t`/`f`, numbers
 * as written, ISO timestamps back to `YYYY-MM-DD HH:MM:SS+00`, arrays as `{...}` literals, JSON as JSON text.
 * Masked values are text and pass unchanged. Null stays null (SQL NULL).
 */
export function textValue(value: unknown, type: string): string | null {
  if (value === null || value === undefined) return null;
  if (type.startsWith("_") && Array.isArray(value)) return arrayText(value, type.slice(1));
  if (type === "json" || type === "jsonb") return JSON.stringify(value);
  return scalarText(value, type);
}
