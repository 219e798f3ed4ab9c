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

  // Backtracking would blow the test timeout on 400,000 characters; the scan's speed is for `npm run bench`.
  it("scans 400,000 characters of near-matches without matching them, and still finds a match after them", () => {
    const re = compileSafePattern("[A-Z]{2,3}-?\\d{6,10}");
    const text = `${"AB-12345".repeat(50_000)} XY-1234567`;
    expect(text.length).toBeGreaterThan(400_000);
    expect(text.match(re)).toEqual(["XY-1234567"]);
  });
});
