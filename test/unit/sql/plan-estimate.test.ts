// The one reader of EXPLAIN (FORMAT JSON)'s estimate: what PostgreSQL answers, and the answers it refuses.
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueryFailedError } from "#shared/errors.ts";
import { explainSql, planEstimate } from "#shared/sql/plan-estimate.ts";

describe("planEstimate", () => {
  let db: PGlite;
  beforeAll(async () => {
    db = await PGlite.create();
    await db.exec("CREATE TABLE t (id integer); INSERT INTO t SELECT generate_series(1, 500); ANALYZE t;");
  });
  afterAll(() => db.close());

  it("reads the rows and the cost of the top plan node from PostgreSQL's own answer", async () => {
    const result = await db.query<Record<string, unknown>>(explainSql("SELECT * FROM t WHERE id > 100"));
    const cell = Object.values(result.rows[0] ?? {})[0];
    const text = typeof cell === "string" ? cell : JSON.stringify(cell);
    const rows = planEstimate(text, "Plan Rows");
    expect(rows).toBeGreaterThan(100);
    expect(rows).toBeLessThanOrEqual(500);
    expect(planEstimate(text, "Total Cost")).toBeGreaterThan(0);
  });

  it("refuses a missing answer, one that is not JSON, and one without the figure, all as query_failed", () => {
    for (const text of [
      undefined,
      null,
      "",
      "not json",
      "[]",
      "{}",
      '[{"Plan":{}}]',
      '[{"Plan":{"Plan Rows":"9"}}]',
    ]) {
      const thrown = (() => {
        try {
          planEstimate(text, "Plan Rows");
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(thrown, String(text)).toBeInstanceOf(QueryFailedError);
      expect((thrown as QueryFailedError).code).toBe("query_failed");
    }
    expect(planEstimate('[{"Plan":{"Plan Rows":7,"Total Cost":1.5}}]', "Total Cost")).toBe(1.5);
  });
});
