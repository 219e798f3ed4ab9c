// Content detectors over free text: true positives in many formats, no flags on ordinary text, adversarial inputs scanned without flags.
import { describe, expect, it } from "vitest";
import { detectorConfigSchema } from "#shared/masking/detector-rules.ts";
import {
  compileDetectors,
  type DetectorCounts,
  detectPhi,
  NUMERIC_CANDIDATE,
  numericRegex,
} from "#shared/masking/detectors.ts";

const all = compileDetectors(
  detectorConfigSchema.parse({ kinds: ["ssn", "phone", "email", "mrn", "date"], mrnPattern: "MRN-\\d{7}" }),
);
const masked = (text: string): string => detectPhi(all, text).text;
const counts = (text: string): DetectorCounts => detectPhi(all, text).counts;

describe("SSN", () => {
  it.each(["123-45-6789", "123 45 6789", "123.45.6789", "078-05-1120"])(
    "flags the separated form %s",
    (ssn) => {
      expect(masked(`SSN on file: ${ssn}.`)).toBe("SSN on file: [SSN].");
    },
  );

  it("flags a standalone 9-digit SSN, with or without a keyword", () => {
    expect(masked("ssn 123456789")).toBe("ssn [SSN]");
    expect(masked("SSN: 123456789")).toBe("SSN: [SSN]");
    expect(masked("SSN#123456789")).toBe("SSN#[SSN]");
    expect(masked("SSN.123456789")).toBe("SSN.[SSN]");
    expect(masked("Social Security Number 123456789")).toBe("Social Security Number [SSN]");
    expect(masked("Insurance card lists 602103900 as the subscriber number.")).toBe(
      "Insurance card lists [SSN] as the subscriber number.",
    );
    expect(masked("claim 123456789 filed")).toBe("claim [SSN] filed");
  });

  it.each([
    "1234567890",
    "12345678",
    "0123456789",
    "1.123456789",
    "123456789.5",
    "12-123456789",
    "123456789-01",
  ])("does not flag the digit run %s as an SSN", (text) => {
    expect(counts(`ref ${text} ok`).ssn).toBe(0);
  });

  // Recall first: a number the SSA could never have issued is still a number someone wrote down as an SSN.
  it.each([
    "000-12-3456",
    "666-12-3456",
    "900-12-3456",
    "999-12-3456",
    "123-00-4567",
    "123-45-0000",
    "000 00 0000",
    "000123456",
    "666123456",
    "912345678",
    "123004567",
    "123450000",
  ])("flags the SSN-shaped but impossible %s", (text) => {
    expect(masked(`ref ${text} ok`)).toBe("ref [SSN] ok");
  });

  it.each(["123-45 6789", "1234-56-7890", "123-45-67890", "9123-45-6789"])(
    "does not flag the non-SSN %s",
    (text) => {
      expect(counts(text).ssn).toBe(0);
    },
  );
});

describe("phone", () => {
  it.each([
    "617-555-0123",
    "(617) 555-0123",
    "(617)555-0123",
    "617.555.0123",
    "617 555 0123",
    "+1 617 555 0123",
    "+1-617-555-0123",
    "1-800-555-0199",
    "+1 (617) 555-0123",
    "+16175550123",
  ])("flags %s", (phone) => {
    expect(masked(`Call ${phone} today`)).toBe("Call [PHONE] today");
  });

  it("flags bare 10-digit numbers only after a keyword or +1", () => {
    expect(masked("phone: 6175550123")).toBe("phone: [PHONE]");
    expect(masked("tel 6175550123")).toBe("tel [PHONE]");
    expect(masked("order 6175550123")).toBe("order 6175550123");
  });

  // Recall first: an area or exchange code no carrier could assign still makes a phone number someone wrote down.
  it.each([
    "123-456-7890",
    "617-155-0123",
    "617-911-0123",
    "911-555-0123",
    "697-555-0123",
    "(000) 000-0000",
    "+1 011 555 0123",
  ])("flags the phone-shaped but impossible %s", (text) => {
    expect(masked(`Call ${text} today`)).toBe("Call [PHONE] today");
  });

  it("flags an impossible bare 10-digit number after a keyword", () => {
    expect(masked("phone: 1234567890")).toBe("phone: [PHONE]");
  });

  it.each(["555-0123", "617-555-01234", "1234567890", "61-555-0123", "6175-555-0123"])(
    "does not flag the partial or longer number %s",
    (text) => {
      expect(counts(text).phone).toBe(0);
    },
  );
});

describe("email", () => {
  it.each([
    "john.smith@example.com",
    "j_o+tag@mail.example.co.uk",
    "o'brien@example.ie",
    "JOSE@EXAMPLE.ORG",
    "josé@exämple.com",
  ])("flags %s", (email) => {
    expect(masked(`mail ${email}, thanks`)).toBe("mail [EMAIL], thanks");
  });

  it("keeps the sentence's full stop and ignores things that only look like addresses", () => {
    expect(masked("Write to a.b@example.com.")).toBe("Write to [EMAIL].");
    for (const text of ["@handle", "a@b", "user@localhost", "x@@y.com", "5@3.14", "@example.com", "a@.com"]) {
      expect(counts(text).email, text).toBe(0);
    }
  });
});

describe("MRN", () => {
  it("uses the policy's pattern, whether or not any patient has that MRN", () => {
    expect(masked("see MRN-0001234 and MRN-7654321")).toBe("see [MRN] and [MRN]");
    expect(masked("MRN-0000000 and MRN-9999999")).toBe("[MRN] and [MRN]");
    expect(counts("MRN-12345").mrn).toBe(0);
  });

  it("is off unless configured", () => {
    const noMrn = compileDetectors(detectorConfigSchema.parse({}));
    expect(detectPhi(noMrn, "MRN-0001234").text).toBe("MRN-0001234");
  });
});

describe("date", () => {
  it.each([
    "2024-03-05",
    "2024/03/05",
    "2024-3-5",
    "2024-03-05T10:30:00Z",
    "2024-03-05 10:30",
    "2024-03-05T10:30:00.123+02:00",
    "03/05/2024",
    "3/5/2024",
    "3/5/24",
    "12-31-1999",
    "31.12.1999",
    "25/12/2024",
  ])("flags %s", (date) => {
    expect(masked(`seen on ${date}, stable`)).toBe("seen on [DATE], stable");
  });

  it.each([
    "October 16, 1940",
    "March 5, 1957",
    "Oct. 16 1940",
    "Sept 3, 2021",
    "16 October 1940",
    "3rd May, 2020",
    "DECEMBER 31, 1999",
  ])("flags the named-month date %s", (date) => {
    expect(masked(`born ${date}; stable`)).toBe("born [DATE]; stable");
  });

  it.each(["October 16", "March 2020", "May 5, 20", "Marcus 5, 2020", "may 32, 2020", "Oct 16, 1940-5"])(
    "does not flag %s (no day and year, or not a date)",
    (text) => {
      expect(counts(`seen ${text} today`).date).toBe(0);
    },
  );

  it.each([
    "BP 120/80",
    "take 1/2 tablet",
    "version 1.2.3",
    "order 2024-0001",
    "temp 98.6",
    "dx E11.9",
    "at 10:30",
    "13/13/2024",
    "2024-13-01",
    "00/12/2024",
    "3-5-24",
    "1.5.10 mg",
    "2.5-10 mg",
    "room 12-34",
  ])("does not flag %s", (text) => {
    expect(counts(text).date).toBe(0);
  });
});

describe("scan", () => {
  it("leaves ordinary clinical text and identifiers alone", () => {
    const text =
      "Pt seen for f/u, 400 mg ibuprofen BID x 14 days, A1c 7.2%, BMI 31.4, ICD-10 E11.9, lot #A12345, ref 88231 ok.";
    expect(detectPhi(all, text)).toEqual({ text, counts: { ssn: 0, phone: 0, email: 0, mrn: 0, date: 0 } });
  });

  it("replaces every kind and counts each", () => {
    const result = detectPhi(
      all,
      "SSN 123-45-6789, cell (617) 555-0123, mail a@b.io, MRN-0001234, DOB 01/02/1950, alt 212-555-0188",
    );
    expect(result.text).toBe("SSN [SSN], cell [PHONE], mail [EMAIL], [MRN], DOB [DATE], alt [PHONE]");
    expect(result.counts).toEqual({ ssn: 1, phone: 2, email: 1, mrn: 1, date: 1 });
  });

  it("merges overlapping spans so no fragment of either escapes", () => {
    const result = detectPhi(all, "x (617) 555-0123x@example.com y");
    expect(result.text).toBe("x [PHONE] y");
    expect(result.counts).toMatchObject({ phone: 1, email: 0 });
    expect(result.text).not.toMatch(/\d|example/);
  });

  it("uses the configured markers and only the configured kinds", () => {
    const d = compileDetectors(
      detectorConfigSchema.parse({ kinds: ["ssn"], replacements: { ssn: "<ssn>" } }),
    );
    expect(detectPhi(d, "123-45-6789 a@b.io 617-555-0123").text).toBe("<ssn> a@b.io 617-555-0123");
  });

  it("returns the same string and no counts for text without matches, including empty and unicode text", () => {
    for (const text of ["", "東京 😀 naïve", "no digits at all"]) {
      expect(detectPhi(all, text)).toEqual({ text, counts: { ssn: 0, phone: 0, email: 0, mrn: 0, date: 0 } });
    }
  });

  it("pre-filters only texts the numeric detectors could not match anyway", () => {
    const alphabet = "0123456789-/. ()+:#ssnphoneT";
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const re = numericRegex(["ssn", "phone", "date"]);
    expect(re).not.toBeNull();
    let checked = 0;
    for (let i = 0; i < 20_000; i++) {
      let text = "";
      const len = 4 + (next() % 24);
      for (let j = 0; j < len; j++) text += alphabet[next() % alphabet.length];
      if (!NUMERIC_CANDIDATE.test(text)) {
        checked++;
        (re as RegExp).lastIndex = 0;
        expect((re as RegExp).test(text), text).toBe(false);
      }
    }
    // The generator is seeded, so the number of texts the pre-filter rejects (and we check) is fixed.
    expect(checked).toBe(14_470);
  });
});

describe("adversarial inputs", () => {
  const cases: Record<string, (n: number) => string> = {
    digits: (n) => "1".repeat(n),
    "digit-dash": (n) => "12-".repeat(n / 3),
    "almost SSN": (n) => "123-45-".repeat(n / 7),
    "almost phone": (n) => "(617) ".repeat(n / 6),
    "almost date": (n) => "12/12/".repeat(n / 6),
    "almost named date": (n) => "Sept 12th, 19".repeat(n / 13),
    "local part": (n) => `${"a".repeat(n)}@`,
    "many @": (n) => `${"a".repeat(70)}@`.repeat(n / 71),
    "long domain": (n) => `a@${"b.".repeat(n / 2)}`,
    "MRN prefix": (n) => "MRN-123456".repeat(n / 10),
    keywords: (n) => "ssn phone ".repeat(n / 10),
    "spaced digits": (n) => "1 2 3 4 ".repeat(n / 8),
  };

  // A super-linear (backtracking) detector would blow the test timeout on 200,000 characters;
  // how fast the scan is belongs in `npm run bench`, not here.
  it.each(Object.keys(cases))(
    "scans 200,000 characters of %s, flags none of it, and still finds an SSN after it",
    (name) => {
      const make = cases[name] as (n: number) => string;
      const text = make(200_000);
      expect(text.length).toBeGreaterThan(190_000);
      const result = detectPhi(all, `${text} SSN 123-45-6789.`);
      expect(result.counts).toEqual({ ssn: 1, phone: 0, email: 0, mrn: 0, date: 0 });
      expect(result.text).toBe(`${text} SSN [SSN].`);
    },
  );
});
