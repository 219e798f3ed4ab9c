// The remote MCP's answers carry the inline rows its tools can show, cut from their text: a large inline result is
// neither parsed whole nor shown differently (the forty-third outside attack: 0.2-0.4 s of main thread per call on
// 4 MB of `{}` values).

import { describe, expect, it } from "vitest";
import { cutRows } from "#shared/http/core-gateway-client.ts";
import { MAX_SHOWN_CHARS } from "#shared/mcp/phigate-mcp-server.ts";
import { JsonText, stringifyJson, withJsonText } from "#shared/serialized-json.ts";

/** What the tools show of `rows`: rows while their running length as JSON stays within MAX_SHOWN_CHARS. */
function shown(rows: readonly unknown[]): number {
  let chars = 0;
  let n = 0;
  for (const row of rows) {
    chars += JSON.stringify(row).length;
    if (chars > MAX_SHOWN_CHARS) break;
    n++;
  }
  return n;
}

describe("cutRows", () => {
  const wide = Array.from({ length: 1_000 }, (_, i) => [i, "x".repeat(1_000 + (i % 7)), { a: [i, '\\"'] }]);

  it("keeps the rows the tools show and the one that passes the bound, from registered rows or stored text", () => {
    for (const rows of [withJsonText([...wide], JSON.stringify(wide)), new JsonText(JSON.stringify(wide))]) {
      const result = { columns: [], rows, rowCount: wide.length, truncated: false };
      const cut = cutRows(result, MAX_SHOWN_CHARS);
      const answered = JSON.parse(stringifyJson(cut)) as { rows: unknown[][]; rowCount: number };
      expect(answered.rowCount).toBe(1_000);
      expect(answered.rows).toEqual(JSON.parse(JSON.stringify(wide.slice(0, shown(wide) + 1))));
      expect(shown(answered.rows)).toBe(shown(wide));
      // And at most as many rows as a tool shows (the forty-fourth outside attack: ~665 narrow rows read to show 100).
      const few = JSON.parse(stringifyJson(cutRows(result, MAX_SHOWN_CHARS, 3))) as { rows: unknown[][] };
      expect(few.rows).toEqual(JSON.parse(JSON.stringify(wide.slice(0, 3))));
    }
  });

  it("leaves a result alone when its rows fit, have no text, or no bound is asked for", () => {
    const small = { rows: withJsonText([[1]], "[[1]]"), rowCount: 1 };
    expect(cutRows(small, MAX_SHOWN_CHARS)).toBe(small);
    const plain = { rows: wide, rowCount: wide.length };
    expect(cutRows(plain, MAX_SHOWN_CHARS)).toBe(plain);
    const unbounded = { rows: new JsonText(JSON.stringify(wide)), rowCount: wide.length };
    expect(cutRows(unbounded, undefined)).toBe(unbounded);
  });
});
