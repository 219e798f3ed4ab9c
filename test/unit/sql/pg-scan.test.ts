// The scanner on the parser's own WebAssembly pool: the same tokens as libpg-query's scanSync, byte offsets, a
// failed load tried again, and no module importing libpg-query's index (which instantiates one more WASM on import).

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModule, scanSync } from "libpg-query";
import { describe, expect, it, vi } from "vitest";
import { loadPgScanner, PgSyntaxError, pgScan } from "#shared/sql/pg-wasm.ts";

const factory = vi.hoisted(() => ({ failNext: false }));

vi.mock("libpg-query/wasm/libpg-query.js", async (importOriginal) => {
  const actual = await importOriginal<{ default: (arg?: object) => Promise<unknown> }>();
  return {
    default: (arg?: object) => {
      if (!factory.failNext) return actual.default(arg);
      factory.failNext = false;
      return Promise.reject(new Error("no WASM"));
    },
  };
});

describe("pgScan", () => {
  it("loads again after a failed load", async () => {
    factory.failNext = true;
    await expect(loadPgScanner()).rejects.toThrow("no WASM");
    await loadPgScanner();
    expect(pgScan("SELECT 1").map((t) => t.text)).toEqual(["SELECT", "1"]);
  });

  it("gives libpg-query's tokens, with byte offsets into the UTF-8 text", async () => {
    await Promise.all([loadPgScanner(), loadModule()]);
    const sql = "SELECT 'é€', \"ü\" /* ✓ */ FROM t WHERE a = $1 -- end";
    const tokens = pgScan(sql);
    expect(tokens).toEqual(scanSync(sql).tokens);
    const bytes = Buffer.from(sql, "utf8");
    const param = tokens.find((t) => t.tokenName === "PARAM");
    expect(param === undefined ? "" : bytes.subarray(param.start, param.end).toString("utf8")).toBe("$1");
  });

  it("throws a syntax error for text the scanner rejects, and the instance stays in use", async () => {
    await loadPgScanner();
    for (const sql of ["SELECT 'unterminated", "SELECT $$x", "/* open", ""]) {
      expect(() => pgScan(sql)).toThrow(PgSyntaxError);
    }
    expect(pgScan("SELECT 1")).toHaveLength(2);
  });
});

it("leaves libpg-query's index (its own WASM instance on import) out of the gateway's code", () => {
  const importers: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts") && /from "libpg-query"/.test(readFileSync(path, "utf8")))
        importers.push(path);
    }
  };
  for (const dir of ["shared", "functions", "infra"]) walk(dir);
  expect(importers).toEqual([]);
});
