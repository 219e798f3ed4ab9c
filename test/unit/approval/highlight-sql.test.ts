// SQL highlighting from the scanner's tokens: every character kept, every piece escaped, tokens classed by kind.

import { beforeAll, describe, expect, it } from "vitest";
import { highlightSql } from "#shared/approval/page/highlight-sql.ts";
import { loadPgScanner } from "#shared/sql/pg-wasm.ts";

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"' };

function text(html: string): string {
  return html
    .replace(/<[^>]+>/g, "")
    .replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)))
    .replace(/&(amp|lt|gt|quot);/g, (_, name: string) => ENTITIES[name] ?? "");
}

describe("highlightSql", () => {
  beforeAll(async () => {
    await loadPgScanner();
  });

  it("classes keywords, identifiers, strings, numbers, parameters, operators and comments", () => {
    const html = highlightSql("SELECT p.id, 'x' AS s, 42 -- note\nFROM patients p WHERE id >= $1").value;
    expect(html).toContain('<span class="k">SELECT</span>');
    expect(html).toContain('<span class="s">&#39;x&#39;</span>');
    expect(html).toContain('<span class="n">42</span>');
    expect(html).toContain('<span class="c">-- note</span>');
    expect(html).toContain('<span class="p">$1</span>');
    expect(html).toContain('<span class="o">&gt;=</span>');
    expect(html).toContain("patients");
  });

  it("keeps the exact text (whitespace, Unicode) and escapes markup inside literals and identifiers", () => {
    const sql = `SELECT '</code><script>alert(1)</script>' AS "a<b", 'Zoë' \n\t FROM patients /* <b> */`;
    const html = highlightSql(sql).value;
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<b>");
    expect(html).not.toContain('"a<b"');
    expect(text(html)).toBe(sql);
  });

  it("falls back to escaped text when the scanner cannot tokenize", () => {
    const sql = "SELECT 'unterminated <i>";
    expect(text(highlightSql(sql).value)).toBe(sql);
    expect(highlightSql(sql).value).not.toContain("<i>");
  });

  it("shows bidi overrides, isolates and zero-width characters as markers, never raw (Trojan Source)", () => {
    const sql = "SELECT id FROM patients WHERE note = 'ok\u202E' -- \u2066x\u2069\nAND\u200B id = 1";
    const html = highlightSql(sql).value;
    for (const raw of ["\u202E", "\u2066", "\u2069", "\u200B"]) expect(html).not.toContain(raw);
    expect(html).toContain("⟨U+202E⟩");
    expect(html).toContain("⟨U+2066⟩");
    expect(html).toContain("⟨U+2069⟩");
    expect(html).toContain("⟨U+200B⟩");
    // The same in the fallback, when the scanner cannot tokenize.
    const broken = highlightSql("SELECT '\u202Eunterminated\u200B").value;
    expect(broken).toContain("⟨U+202E⟩");
    expect(broken).not.toMatch(/[\u202E\u200B]/);
  });
});
