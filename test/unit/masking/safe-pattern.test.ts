// Policy-supplied detector patterns: a bounded, unambiguous subset, compiled once, linear to scan.
import { describe, expect, it } from "vitest";
import { ConfigurationError } from "#shared/errors.ts";
import { checkSafePattern, compileSafePattern } from "#shared/masking/safe-pattern.ts";

describe("checkSafePattern", () => {
  it.each([
    "MRN-\\d{7}",
    "\\bMRN[-: ]?\\d{6,8}\\b",
    "(?:MRN|MR)-[0-9]{7}",
    "[A-Z]{2,3}\\d{6}",
    "(MRN|ID)#\\d{5}",
    "(?:\\d{3}-){2}\\d{4}",
    "[^\\s]{3}-\\d{4}",
    "x.{2}y",
  ])("accepts %s", (pattern) => {
    expect(checkSafePattern(pattern)).toBeNull();
  });

  it.each([
    ["", /empty/],
    ["(a+)+", /unbounded/],
    ["\\d*", /unbounded/],
    ["MRN-\\d{7,}", /unbounded/],
    ["(?:x|x){1,40}", /ambiguous/],
    ["x\\d{0,60}\\d{0,60}\\d{0,60}", /ambiguous/],
    ["(?:a?){2,5}", /empty string/],
    ["a?", /empty string/],
    ["\\b", /empty string/],
    ["(\\d)\\1", /escape/],
    ["(?=MRN)\\w{3}", /groups/],
    ["(?<id>\\d{3})", /groups/],
    ["^MRN", /anchors/],
    ["MRN$", /anchors/],
    ["\\p{L}{3}", /escape/],
    ["[]", /empty character class/],
    ["[z-a]", /range/],
    ["(abc", /unclosed/],
    ["abc)", /unexpected/],
    ["a{3", /bounded repetition/],
    ["a{2}{3}", /repeated/],
    ["a{1,3}?", /repeated or made lazy/],
    ["\\d{200}", /above/],
    ["\\d{100}\\d{100}\\d{100}", /more than 256/],
    ["x".repeat(201), /longer than/],
  ])("rejects %s", (pattern, why) => {
    expect(checkSafePattern(pattern)).toMatch(why);
  });
});

describe("compileSafePattern", () => {
  it("returns a global regex for a safe pattern and throws ConfigurationError for an unsafe one", () => {
    const re = compileSafePattern("MRN-\\d{7}");
    expect(re.flags).toContain("g");
    expect("a MRN-0001234 b MRN-7654321".match(re)).toEqual(["MRN-0001234", "MRN-7654321"]);
    expect(() => compileSafePattern("(a+)+$")).toThrow(ConfigurationError);
  });

  it("scans adversarial text in time linear in its length", () => {
    const re = compileSafePattern("[A-Z]{2,3}-?\\d{6,10}");
    const time = (n: number): number => {
      const text = "AB-12345".repeat(n / 8);
      const start = performance.now();
      re.lastIndex = 0;
      while (re.exec(text) !== null) {}
      return performance.now() - start;
    };
    time(20_000);
    const small = Math.max(time(50_000), 1);
    const large = time(400_000);
    expect(large).toBeLessThan(small * 8 * 4);
  });
});
