// The decision cache's planner estimates: asked once per statement, parameters and analysis while fresh, never kept when they fail.

import { describe, expect, it } from "vitest";
import { DecisionCache } from "#shared/query/decide-request.ts";
import type { AnalyzedStatement } from "#shared/sql/statement-analyzer.ts";

const analysis = (): AnalyzedStatement => ({}) as AnalyzedStatement;
const ONE = { sql: "SELECT 1", types: [] };
const TWO = { sql: "SELECT 2", types: [] };
const TYPED = { sql: "SELECT 1", types: ["int4"] };

describe("DecisionCache.estimate", () => {
  it("asks the planner once per kind, generic statement and parameter types while the analysis and the entry are fresh", async () => {
    const cache = new DecisionCache(10, 1000);
    const analyzed = analysis();
    let asked = 0;
    const ask = async () => ++asked * 100;
    expect(await cache.estimate("rows", ONE, analyzed, 0, ask)).toBe(100);
    expect(await cache.estimate("rows", ONE, analyzed, 999, ask)).toBe(100);
    expect(asked).toBe(1);
    expect(await cache.estimate("cost", ONE, analyzed, 0, ask)).toBe(200);
    expect(await cache.estimate("rows", TYPED, analyzed, 0, ask)).toBe(300);
    expect(await cache.estimate("rows", TWO, analyzed, 0, ask)).toBe(400);
    // A new analysis (the catalog changed) or an aged entry asks again.
    expect(await cache.estimate("rows", ONE, analysis(), 0, ask)).toBe(500);
    expect(await cache.estimate("rows", ONE, analyzed, 5000, ask)).toBe(600);
  });

  it("does not keep a failed estimate", async () => {
    const cache = new DecisionCache(10, 1000);
    const analyzed = analysis();
    await expect(
      cache.estimate("rows", ONE, analyzed, 0, () => Promise.reject(new Error("busy"))),
    ).rejects.toThrow("busy");
    expect(await cache.estimate("rows", ONE, analyzed, 1, async () => 7)).toBe(7);
  });
});
