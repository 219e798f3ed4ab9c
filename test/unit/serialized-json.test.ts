// stringifyJson: a reply with rows already serialized is byte for byte JSON.stringify of the reply, whatever it holds.

import { describe, expect, it } from "vitest";
import { JsonText, leadingElements, stringifyJson, withJsonText } from "#shared/serialized-json.ts";
import { seededRandom } from "#test/support/seeded-random.ts";

/** Strings that try the splice: NUL, the marker's own spelling, quotes and backslashes. */
const NASTY = [
  "\u0000phigate-json-0\u0000",
  "\u0000phigate-json-1\u0000",
  '"\\u0000phigate-json-0\\u0000"',
  "\\u0000phigate-json-0\\u0000",
  '"',
  "\\",
  "\u0000",
  "",
];

function value(random: () => number, depth: number): unknown {
  const pick = random();
  if (depth > 2 || pick < 0.3) {
    const scalar = random();
    if (scalar < 0.2) return NASTY[Math.floor(random() * NASTY.length)];
    if (scalar < 0.4) return Math.floor(random() * 1e6) - 5e5;
    if (scalar < 0.5) return random() < 0.5 ? null : random() < 0.5;
    return String.fromCharCode(
      ...Array.from({ length: Math.floor(random() * 6) }, () => Math.floor(random() * 200)),
    );
  }
  if (pick < 0.65) return Array.from({ length: Math.floor(random() * 4) }, () => value(random, depth + 1));
  const object: Record<string, unknown> = {};
  for (let i = 0; i < Math.floor(random() * 4); i++) {
    const key = random() < 0.3 ? (NASTY[Math.floor(random() * NASTY.length)] ?? "k") : `k${i}`;
    object[key] = value(random, depth + 1);
  }
  return object;
}

/** A reply shaped like a completed query's, some of its properties registered with their text. */
function reply(random: () => number): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (let i = 0; i < 1 + Math.floor(random() * 5); i++) {
    const key = random() < 0.2 ? (NASTY[Math.floor(random() * NASTY.length)] ?? "k") : `p${i}`;
    const v = value(random, 0);
    if (typeof v === "object" && v !== null && random() < 0.6) withJsonText(v, JSON.stringify(v));
    body[key] = v;
  }
  return body;
}

describe("stringifyJson", () => {
  it("equals JSON.stringify for 5,000 generated replies, registered parts and marker look-alikes included", () => {
    const random = seededRandom(0x5e71a1);
    for (let i = 0; i < 5_000; i++) {
      const body = reply(random);
      expect(stringifyJson(body)).toBe(JSON.stringify(body));
    }
  });

  it("writes a registered property from its text (the rows are not serialized again)", () => {
    const rows = [[1, "a"]];
    // A text that differs from the rows shows which was written: only the test makes them differ.
    withJsonText(rows, '[[1,"from-text"]]');
    expect(stringifyJson({ status: "completed", rows, rowCount: 1 })).toBe(
      '{"status":"completed","rows":[[1,"from-text"]],"rowCount":1}',
    );
  });

  it("splices several in their places, whatever the other properties hold (the forty-third outside attack)", () => {
    const rows = withJsonText([[1]], "[[1]]");
    const other = withJsonText({ a: 1 }, '{"a":1}');
    const both = { other, note: "x", rows, gone: undefined, fn: () => 1 };
    expect(stringifyJson(both)).toBe(JSON.stringify(both));
    // A caller's purpose spelled like the old splice markers once forced the whole body to be serialized again (and a
    // stored result parsed): the text is still what is written. "1.0" shows it: parsing would write "1".
    for (const purpose of NASTY) {
      const body = { purpose, rows: new JsonText("[[1.0]]"), rowCount: 1 };
      expect(stringifyJson(body)).toBe(`{"purpose":${JSON.stringify(purpose)},"rows":[[1.0]],"rowCount":1}`);
    }
  });

  it("writes JsonText as its text where it splices, and as its parsed value wherever else it is serialized", () => {
    const random = seededRandom(0x7e47);
    for (let i = 0; i < 1_000; i++) {
      const rows = Array.from({ length: Math.floor(random() * 4) }, () => value(random, 1));
      const text = JSON.stringify(rows);
      const body = { sessionId: "ses_1", rows: new JsonText(text), rowCount: rows.length };
      expect(stringifyJson(body)).toBe(JSON.stringify({ ...body, rows }));
      // Nested below the top level, where nothing splices: parsed, and still the same bytes.
      expect(stringifyJson({ result: body })).toBe(JSON.stringify({ result: { ...body, rows } }));
    }
    // Where it splices, the text is what is written: it is never parsed on that path.
    expect(stringifyJson({ rows: new JsonText('[["from-text"]]') })).toBe('{"rows":[["from-text"]]}');
  });

  it("passes anything but an object through JSON.stringify", () => {
    for (const body of [null, 1, "s", [1, 2], true]) expect(stringifyJson(body)).toBe(JSON.stringify(body));
  });
});

describe("leadingElements", () => {
  it("cuts 5,000 generated arrays where a reader measuring each element's JSON would stop", () => {
    const random = seededRandom(0x1ead);
    for (let i = 0; i < 5_000; i++) {
      const rows = Array.from({ length: Math.floor(random() * 8) }, () => value(random, 0));
      const text = JSON.stringify(rows);
      const maxChars = Math.floor(random() * (text.length + 2));
      const maxElements = random() < 0.5 ? Number.POSITIVE_INFINITY : 1 + Math.floor(random() * 8);
      // The reference: elements while their running length stays within maxChars, and the one that passes it; at
      // most maxElements of them.
      let chars = 0;
      let n = 0;
      while (n < rows.length && n < maxElements) {
        chars += (JSON.stringify(rows[n]) ?? "null").length;
        n++;
        if (chars > maxChars) break;
      }
      expect(leadingElements(text, maxChars, maxElements)).toBe(JSON.stringify(rows.slice(0, n)));
    }
  });

  it("returns text that is not an array as it is", () => {
    for (const text of ["", "{}", '"[1,2]"', "1"]) expect(leadingElements(text, 0)).toBe(text);
    expect(leadingElements("[]", 0)).toBe("[]");
  });
});
