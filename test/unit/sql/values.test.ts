// Value decoding from PostgreSQL's text format: one JSON shape per type, whichever executor read it.

import { describe, expect, it } from "vitest";
import { decodeValue, MAX_JSON_DEPTH, parseArray, typeName } from "#shared/sql/values.ts";

describe("decodeValue", () => {
  it.each([
    [16, "t", true],
    [16, "f", false],
    [23, "42", 42],
    [21, "-7", -7],
    [20, "9007199254740993", "9007199254740993"],
    [1700, "12.3400", "12.3400"],
    [701, "0.1", 0.1],
    [701, "NaN", "NaN"],
    [701, "Infinity", "Infinity"],
    [25, "text", "text"],
    [1082, "1999-12-31", "1999-12-31"],
    [1114, "2024-01-02 03:04:05.123456", "2024-01-02T03:04:05.123456"],
    [1184, "2024-01-02 03:04:05+00", "2024-01-02T03:04:05Z"],
    [1184, "2024-01-02 03:04:05+05:30", "2024-01-02T03:04:05+05:30"],
    [1184, "infinity", "infinity"],
    [3802, '{"a": [1, null]}', { a: [1, null] }],
    [2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
    [99999, "custom", "custom"],
  ])("oid %i %j → %j", (oid, text, expected) => {
    expect(decodeValue(oid, text)).toEqual(expected);
  });

  it("keeps null", () => expect(decodeValue(23, null)).toBeNull());

  it("refuses JSON nested deeper than masking goes, counting brackets outside strings only", () => {
    const nested = (depth: number, inner = "1") => `${"[".repeat(depth)}${inner}${"]".repeat(depth)}`;
    expect(() => decodeValue(3802, nested(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => decodeValue(114, nested(MAX_JSON_DEPTH + 1))).toThrow(
      expect.objectContaining({ code: "value_too_deep", status: 422 }),
    );
    const deepObjects = `${'{"a":'.repeat(MAX_JSON_DEPTH + 1)}1${"}".repeat(MAX_JSON_DEPTH + 1)}`;
    expect(() => decodeValue(3802, deepObjects)).toThrow(expect.objectContaining({ code: "value_too_deep" }));
    // Brackets inside strings (escaped quotes too) are text, not nesting.
    const inString = nested(10, JSON.stringify(`\\"${"[".repeat(5_000)}`));
    expect(decodeValue(3802, inString)).toEqual(JSON.parse(inString));
  });

  it("decodes arrays, nested, quoted, with NULLs and bounds", () => {
    expect(decodeValue(1007, "{1,2,NULL}")).toEqual([1, 2, null]);
    expect(decodeValue(1009, '{"a b","c\\"d",NULL,"NULL",e}')).toEqual(["a b", 'c"d', null, "NULL", "e"]);
    expect(decodeValue(1007, "{{1,2},{3,4}}")).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(decodeValue(1007, "[0:1]={5,6}")).toEqual([5, 6]);
    expect(decodeValue(1009, "{}")).toEqual([]);
    expect(() => parseArray("{1,2", (t) => t)).toThrow(TypeError);
  });

  it("names types", () => {
    expect(typeName(23)).toBe("int4");
    expect(typeName(1009)).toBe("_text");
    expect(typeName(424242)).toBe("oid:424242");
  });
});
