// Canonical JSON (sorted keys, no whitespace) so a digest over a value never depends on key order.

/**
 * Serializes a JSON-compatible value with object keys sorted at every level; `undefined` members are omitted and
 * `undefined` array items are `null`, as `JSON.stringify` writes them. Strings, numbers and keys are written by
 * `JSON.stringify` itself, so the text is `JSON.stringify`'s with the keys in order. Built by appending to one
 * string rather than joining arrays of parts: every session record version is serialized this way for its digest.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError("value is not representable as JSON");
    return text;
  }
  if (Array.isArray(value)) {
    let text = "[";
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (i > 0) text += ",";
      text += item === undefined ? "null" : canonicalJson(item);
    }
    return `${text}]`;
  }
  const record = value as Record<string, unknown>;
  let text = "{";
  let first = true;
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined) continue;
    text += `${first ? "" : ","}${JSON.stringify(key)}:${canonicalJson(member)}`;
    first = false;
  }
  return `${text}}`;
}
