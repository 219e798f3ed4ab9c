// JSON text checked before it is parsed: numbers a double would change beyond rounding, found outside strings only.

import { describe, expect, it } from "vitest";
import { isUnrepresentableNumber, jsonTextProblem } from "#shared/sql/json-text.ts";
import { decodeValue } from "#shared/sql/values.ts";
import { seededRandom } from "#test/support/seeded-random.ts";

/** A JSON number's exact value as a fraction of BigInts (numerator, power-of-ten denominator). */
function exactValue(token: string): { readonly numerator: bigint; readonly denominator: bigint } {
  const negative = token.startsWith("-");
  const [mantissa = "", exponentText = "0"] = token.replace(/^-/, "").split(/[eE]/);
  const [whole = "", fraction = ""] = mantissa.split(".");
  const digits = BigInt(whole + fraction) * (negative ? -1n : 1n);
  const scale = Number(exponentText) - fraction.length;
  return scale >= 0
    ? { numerator: digits * 10n ** BigInt(scale), denominator: 1n }
    : { numerator: digits, denominator: 10n ** BigInt(-scale) };
}

/**
 * The rule stated plainly, in exact arithmetic: refused when JSON.parse gives no finite number or a zero for a
 * non-zero number, or, at 2^53 or more, when the double's JSON says another number than the text.
 */
function refusedByDefinition(token: string): boolean {
  const value = JSON.parse(token) as number;
  if (!Number.isFinite(value)) return true;
  const exact = exactValue(token);
  if (value === 0) return exact.numerator !== 0n;
  if (Math.abs(value) < 2 ** 53) return false;
  const said = exactValue(JSON.stringify(value));
  return exact.numerator * said.denominator !== said.numerator * exact.denominator;
}

describe("isUnrepresentableNumber", () => {
  it.each([
    "9007199254740993",
    "-9007199254740993",
    "1152921504606846976", // 2^60: a double carries it, but its JSON says 1152921504606847000
    "9007199254740993.5",
    "9007199254740993.0000001",
    "12345678901234567890.5", // would say …7000: a fraction past 2^53 loses whole units
    "9007199254740993.0", // the same whole number, written with a scale (jsonb keeps numeric's)
    "9007199254740993.000e0",
    "9.007199254740993e15",
    "900719925474099300e-2",
    "123456789012345678901234567890",
    "1e400",
    "-1E+400",
    "1e-400",
    "2e-324",
    `0.${"0".repeat(330)}1`,
    `1${"0".repeat(400)}.5`,
  ])("refuses %s", (token) => {
    expect(isUnrepresentableNumber(token)).toBe(true);
    expect(refusedByDefinition(token)).toBe(true);
  });

  it.each([
    "0",
    "-0",
    "0.0",
    "0e400",
    "-0.000e-999",
    "42",
    "9007199254740991",
    "9007199254740992",
    "-9007199254740992",
    "0.1",
    "0.30000000000000004",
    "3.3333333333333333", // rounded to the nearest double, as every JSON parser reads it
    "1.00000000000000001",
    "1.0000000000000001",
    "1000000000000000000000", // a double carries it, spelled 1e+21
    "9007199254740992.000",
    "9007199254740991.25", // under 2^53: rounded by less than one unit
    "1e308",
    "1.7976931348623157e308",
    "5e-324",
    "2.5e-324",
    "1e21",
    `0.${"0".repeat(290)}1`,
  ])("accepts %s", (token) => {
    expect(isUnrepresentableNumber(token)).toBe(false);
    expect(refusedByDefinition(token)).toBe(false);
  });
});

describe("jsonTextProblem", () => {
  /** A number token of a generated shape: long integers, fractions, exponents far out of range. */
  function token(random: () => number): string {
    const digits = (n: number, first = "123456789") =>
      (first[Math.floor(random() * first.length)] ?? "1") +
      Array.from({ length: n - 1 }, () => Math.floor(random() * 10)).join("");
    const sign = random() < 0.3 ? "-" : "";
    const r = random();
    const intPart = r < 0.15 ? "0" : digits(1 + Math.floor(random() * (r < 0.6 ? 15 : 40)));
    let text = sign + intPart;
    const f = random();
    if (f < 0.15) {
      // A whole number written with a scale, as jsonb keeps numeric's.
      text += `.${"0".repeat(1 + Math.floor(random() * 4))}`;
    } else if (f < 0.45) {
      const zeros = random() < 0.1 ? "0".repeat(Math.floor(random() * 340)) : "";
      text += `.${zeros}${digits(1 + Math.floor(random() * 25), "0123456789")}`;
    }
    if (random() < 0.3) {
      const e = random() < 0.5 ? Math.floor(random() * 40) - 20 : Math.floor(random() * 800) - 400;
      text += `${random() < 0.5 ? "e" : "E"}${e < 0 ? "-" : random() < 0.5 ? "+" : ""}${Math.abs(e)}`;
    }
    return text;
  }

  it("finds exactly the refused numbers outside strings, over 5,000 generated texts", () => {
    const random = seededRandom(0x6a50);
    let refused = 0;
    for (let n = 0; n < 5_000; n++) {
      const tokens = Array.from({ length: 1 + Math.floor(random() * 4) }, () => token(random));
      // The same tokens inside strings (escaped quotes and backslashes around them) must not count.
      const decoys = tokens.map((t) => JSON.stringify(`\\"${t}" 1e400 ${"9".repeat(30)}\\`));
      const parts = tokens.flatMap((t, i) => [`{"k${i}": ${t}}`, decoys[i] as string]);
      const text = `[${parts.join(", ")}]`;
      expect(() => JSON.parse(text)).not.toThrow();
      const expected = tokens.some(refusedByDefinition);
      if (expected) refused++;
      expect(jsonTextProblem(text, 1_000), text).toBe(expected ? "not_representable" : undefined);
      expect(jsonTextProblem(`[${decoys.join(",")}]`, 1_000)).toBeUndefined();
    }
    // Both verdicts are well represented among the generated texts.
    expect(refused).toBeGreaterThan(1_000);
    expect(refused).toBeLessThan(4_000);
  });

  it("reports nesting deeper than the limit before a number after it", () => {
    expect(jsonTextProblem(`${"[".repeat(4)}1e400${"]".repeat(4)}`, 3)).toBe("too_deep");
    expect(jsonTextProblem(`[1e400, ${"[".repeat(4)}${"]".repeat(4)}]`, 3)).toBe("not_representable");
    expect(jsonTextProblem('"unterminated', 3)).toBeUndefined();
  });
});

describe("decodeValue on json and jsonb", () => {
  it.each([
    [3802, '{"id": 9007199254740993}'],
    [3802, '{"id": 9007199254740993.00}'],
    [3802, "[1e400]"],
    [114, '{"tiny": 1e-400}'],
    [199, '{"[1e400]","{\\"a\\": 2}"}'],
  ])("refuses %i %s with a named 422, never another number", (oid, text) => {
    expect(() => decodeValue(oid, text)).toThrow(
      expect.objectContaining({ code: "value_not_representable", status: 422 }),
    );
  });

  it("keeps numbers a double carries, rounds long fractions, and leaves numbers in strings alone", () => {
    expect(decodeValue(3802, '{"id": 9007199254740991, "avg": 3.3333333333333333}')).toEqual({
      id: 9007199254740991,
      avg: 3.3333333333333335,
    });
    expect(decodeValue(3802, '{"note": "9007199254740993 1e400"}')).toEqual({
      note: "9007199254740993 1e400",
    });
  });
});
