import { describe, expect, it } from "vitest";
import { canonicalJson } from "#shared/crypto/canonical-json.ts";
import { seededRandom } from "#test/support/seeded-random.ts";

/** The specification, written the plain way: the digests of every stored record depend on this exact text. */
function reference(value: unknown): string {
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError("value is not representable as JSON");
    return text;
  }
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? "null" : reference(v))).join(",")}]`;
  const record = value as Record<string, unknown>;
  const parts = Object.keys(record)
    .sort()
    .filter((key) => record[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${reference(record[key])}`);
  return `{${parts.join(",")}}`;
}

const STRINGS = [
  "",
  "a",
  "Lee",
  'quote " and \\ slash',
  "line\nbreak\u0000nul",
  "é e\u0301",
  "😀",
  "\ud800",
  "</script>",
];
const NUMBERS = [0, -0, 1, -1.5, 1e21, 5e-324, Number.MAX_SAFE_INTEGER, Number.NaN, Number.POSITIVE_INFINITY];

function generate(random: () => number, depth: number): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const kind = depth <= 0 ? Math.floor(random() * 4) : Math.floor(random() * 7);
  switch (kind) {
    case 0:
      return pick(STRINGS) + (random() < 0.5 ? "" : String(Math.floor(random() * 1000)));
    case 1:
      return pick(NUMBERS);
    case 2:
      return pick([true, false, null]);
    case 3:
      return undefined;
    case 4:
    case 5: {
      const record: Record<string, unknown> = {};
      const size = Math.floor(random() * 6);
      for (let i = 0; i < size; i++)
        record[pick(STRINGS) + pick(["", "b", "10", "2", "Z"])] = generate(random, depth - 1);
      return record;
    }
    default:
      return Array.from({ length: Math.floor(random() * 5) }, () => generate(random, depth - 1));
  }
}

/** The same members inserted in another order, at every level. */
function reordered(value: unknown, random: () => number): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => reordered(v, random));
  const entries = Object.entries(value as Record<string, unknown>).sort(() => random() - 0.5);
  return Object.fromEntries(entries.map(([k, v]) => [k, reordered(v, random)]));
}

describe("canonicalJson", () => {
  it("sorts keys at every level, omits undefined members and writes undefined items as null", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, undefined, { z: 0, y: "x" }], c: undefined } })).toBe(
      '{"a":{"d":[1,null,{"y":"x","z":0}]},"b":1}',
    );
    expect(canonicalJson("é\n")).toBe(JSON.stringify("é\n"));
    expect(canonicalJson([])).toBe("[]");
    expect(canonicalJson({})).toBe("{}");
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
    expect(() => canonicalJson({ a: 1n })).toThrow(TypeError);
  });

  it("writes the specification's text for 3,000 generated values, whatever order their keys were inserted in", () => {
    const random = seededRandom(18);
    let compared = 0;
    for (let i = 0; i < 3_000; i++) {
      const value = generate(random, 4);
      if (value === undefined) continue;
      const text = canonicalJson(value);
      expect(text).toBe(reference(value));
      expect(canonicalJson(reordered(value, random))).toBe(text);
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      compared++;
    }
    expect(compared).toBeGreaterThan(2_000);
  });
});
