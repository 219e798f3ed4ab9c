// The value strategies: partial (format-preserving), tokenize (keyed, deterministic), generalize (Safe Harbor).
import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MaskingFailedError } from "#shared/errors.ts";
import { compileGeneralizer, generalizeValue, RESTRICTED_ZIP3 } from "#shared/masking/generalize.ts";
import { createHmacSha256Hex96 } from "#shared/masking/hmac-sha256.ts";
import { maskPartial } from "#shared/masking/partial.ts";
import { type PartialRule, partialRuleSchema } from "#shared/masking/strategies/partial.ts";
import { type TokenizeRule, tokenizeRuleSchema } from "#shared/masking/strategies/tokenize.ts";
import { createTokenizer, normalizeForToken, TOKEN_CACHE_PROBE } from "#shared/masking/tokenize.ts";

const partial = (input: object): PartialRule => partialRuleSchema.parse({ strategy: "partial", ...input });
const tokenizeRule = (input: object = {}): TokenizeRule =>
  tokenizeRuleSchema.parse({ strategy: "tokenize", ...input });

describe("partial", () => {
  it("keeps separators and the last N significant characters", () => {
    expect(maskPartial("123-45-6789", partial({ keepLast: 4 }))).toBe("***-**-6789");
    expect(maskPartial("(617) 555-0123", partial({ keepLast: 4 }))).toBe("(***) ***-0123");
    expect(maskPartial("123456789", partial({ keepLast: 4 }))).toBe("*****6789");
  });

  it("keeps the first N, or both ends, with the chosen mask character", () => {
    expect(maskPartial("MRN-0001234", partial({ keepFirst: 3, maskChar: "X" }))).toBe("MRN-XXXXXXX");
    expect(maskPartial("john.smith@example.com", partial({ keepFirst: 1, keepLast: 3 }))).toBe(
      "j***.*****@*******.com",
    );
  });

  it("masks a value entirely when keeping would reveal all of it", () => {
    expect(maskPartial("6789", partial({ keepLast: 4 }))).toBe("****");
    expect(maskPartial("12-3", partial({ keepFirst: 2, keepLast: 2 }))).toBe("**-*");
    expect(maskPartial("12345", partial({ keepFirst: 2, keepLast: 2 }))).toBe("12*45");
  });

  it("handles empty strings, separators only, and no keep at all", () => {
    expect(maskPartial("", partial({ keepLast: 4 }))).toBe("");
    expect(maskPartial("--- ---", partial({ keepLast: 4 }))).toBe("--- ---");
    expect(maskPartial("AB-12", partial({}))).toBe("**-**");
  });

  it("counts code points, masks symbols and emoji, and drops the combining marks of masked letters", () => {
    expect(maskPartial("Zoë Ünal", partial({ keepLast: 2 }))).toBe("*** **al");
    expect(maskPartial("José", partial({ keepFirst: 1 }))).toBe("J***");
    expect(maskPartial("Jose\u0301", partial({ keepFirst: 1 }))).toBe("J***");
    expect(maskPartial("Jose\u0301", partial({ keepLast: 1 }))).toBe("***e\u0301");
    expect(maskPartial("😀😀-12", partial({ keepLast: 2 }))).toBe("**-12");
    expect(maskPartial("東京都-123", partial({ keepLast: 3 }))).toBe("***-123");
  });
});

describe("tokenize", () => {
  const key = randomBytes(32);

  it("is a readable prefix plus 24 hex digits, deterministic for a key", () => {
    const a = createTokenizer(key, tokenizeRule({ prefix: "mrn" }));
    const b = createTokenizer(key, tokenizeRule({ prefix: "mrn" }));
    const token = a("MRN-0001234");
    expect(token).toMatch(/^mrn_[0-9a-f]{24}$/);
    expect(b("MRN-0001234")).toBe(token);
    expect(a("MRN-0001235")).not.toBe(token);
    expect(token).toBe(`mrn_${createHmac("sha256", key).update("MRN-0001234").digest("hex").slice(0, 24)}`);
  });

  it("gives unrelated tokens under a different key", () => {
    const other = createTokenizer(randomBytes(32), tokenizeRule());
    expect(other("Smith")).not.toBe(createTokenizer(key, tokenizeRule())("Smith"));
  });

  it("joins spellings only when the rule normalizes them", () => {
    const exact = createTokenizer(key, tokenizeRule());
    const loose = createTokenizer(key, tokenizeRule({ normalize: ["case", "whitespace"] }));
    expect(exact("Smith")).not.toBe(exact("SMITH "));
    expect(loose("Smith")).toBe(loose("SMITH "));
    expect(loose("  Mary   Ann ")).toBe(loose("mary ann"));
    expect(normalizeForToken("Zoe\u0308", ["unicode"])).toBe("Zoë");
    const unicode = createTokenizer(key, tokenizeRule({ normalize: ["unicode"] }));
    expect(unicode("Zoe\u0308")).toBe(unicode("Zoë"));
  });

  it("tokenizes empty strings, unicode and long values consistently with HMAC-SHA256", () => {
    const t = createTokenizer(key, tokenizeRule());
    for (const v of ["", "é", "東京", "x".repeat(1000), "a".repeat(55), "a".repeat(56)]) {
      expect(t(v)).toBe(`tok_${createHmac("sha256", key).update(v, "utf8").digest("hex").slice(0, 24)}`);
    }
  });

  it("stays deterministic when the cache is full or has switched itself off", () => {
    const t = createTokenizer(key, tokenizeRule());
    const first = t("value-0");
    for (let i = 0; i < TOKEN_CACHE_PROBE * 2; i++) t(`distinct-${i}`);
    expect(t("value-0")).toBe(first);
  });

  it("refuses a missing or short key", () => {
    expect(() => createTokenizer(randomBytes(16), tokenizeRule())).toThrow(MaskingFailedError);
    expect(() => createTokenizer(undefined as unknown as Buffer, tokenizeRule())).toThrow(MaskingFailedError);
  });
});

describe("createHmacSha256Hex96", () => {
  it("matches node:crypto for random keys (short and long) and inputs of every length around a block", () => {
    for (let t = 0; t < 40; t++) {
      const key = randomBytes(1 + ((t * 7) % 130));
      const hmac = createHmacSha256Hex96(key);
      for (let n = 0; n < 70; n++) {
        const ascii = randomBytes(n).toString("base64").slice(0, n);
        const value = t % 4 === 0 ? `${ascii}é` : ascii;
        expect(hmac(value)).toBe(createHmac("sha256", key).update(value, "utf8").digest("hex").slice(0, 24));
      }
    }
  });
});

describe("generalize", () => {
  const ctx = { currentYear: 2026 };

  it("coarsens dates and timestamps to year or month", () => {
    expect(generalizeValue("year", "1984-03-12", ctx)).toBe("1984");
    expect(generalizeValue("month", "1984-03-12", ctx)).toBe("1984-03");
    expect(generalizeValue("year", "2024-01-15T10:30:00.000Z", ctx)).toBe("2024");
    expect(generalizeValue("month", "2024-01-15 10:30:00+00", ctx)).toBe("2024-01");
  });

  it("withholds what is not a date instead of passing it through", () => {
    for (const v of [
      "infinity",
      "-infinity",
      "0044-03-15 BC",
      "12/03/1984",
      "",
      "1984-13-01",
      "1984-02-30x",
    ]) {
      expect(generalizeValue("year", v, ctx), v).toBeNull();
    }
    expect(generalizeValue("year", 1984, ctx)).toBeNull();
  });

  it("puts every birth year that may belong to someone over 89 into one bucket (Safe Harbor)", () => {
    expect(generalizeValue("birth_year", "1936-12-31", ctx)).toBe("<=1936");
    expect(generalizeValue("birth_year", "1936-01-01", ctx)).toBe("<=1936");
    expect(generalizeValue("birth_year", "1901-05-05", ctx)).toBe("<=1936");
    expect(generalizeValue("birth_month", "1930-05-05", ctx)).toBe("<=1936");
    expect(generalizeValue("birth_year", "1937-01-01", ctx)).toBe("1937");
    expect(generalizeValue("birth_month", "1937-06-15", ctx)).toBe("1937-06");
    expect(generalizeValue("birth_year", "1937-01-01", { currentYear: 2027 })).toBe("<=1937");
    expect(generalizeValue("year", "1901-05-05", ctx)).toBe("1901");
  });

  it("keeps the first three digits of a ZIP and zeroes the sparsely populated prefixes", () => {
    expect(generalizeValue("zip3", "02139", ctx)).toBe("021");
    expect(generalizeValue("zip3", "02139-4307", ctx)).toBe("021");
    expect(generalizeValue("zip3", " 021394307 ", ctx)).toBe("021");
    expect(generalizeValue("zip3", 2139, ctx)).toBe("021");
    expect(RESTRICTED_ZIP3.size).toBe(17);
    for (const prefix of RESTRICTED_ZIP3) expect(generalizeValue("zip3", `${prefix}45`, ctx)).toBe("000");
    expect(generalizeValue("zip3", "03755", ctx)).toBe("037");
    for (const v of ["0213", "ABCDE", "021390", "", 123456, 1.5, -1]) {
      expect(generalizeValue("zip3", v, ctx), String(v)).toBeNull();
    }
  });

  it("reports ages over 89 as 90+", () => {
    const age = compileGeneralizer("age", ctx);
    expect(age(42)).toBe("42");
    expect(age(89)).toBe("89");
    expect(age(90)).toBe("90+");
    expect(age("104")).toBe("90+");
    expect(age("89.5")).toBe("90+");
    expect(age(-1)).toBeNull();
    expect(age("old")).toBeNull();
  });
});
