// Admission on the embedded default: one caller's heavy statements cannot shut another's light one out, and a costly plan is refused before it runs (the queue cap: test/unit/local/pglite-executor.test.ts).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoPolicyWith } from "#test/support/approvals.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

const ANALYST = "analyst-7";
/** Runs until its timeout (30 s): the planner thinks a function scan returns 1000 rows, so its cost looks small. */
const HEAVY = "SELECT count(*) FROM generate_series(1, 4000000000) g";

describe("fair scheduling on the embedded PGlite", () => {
  let gw: TestGateway;
  let nightly: string;
  let analyst: string;

  beforeAll(async () => {
    const policy = await demoPolicyWith([
      ["      statementTimeoutMs: 10000\n", "      statementTimeoutMs: 30000\n"],
      [
        "masking:\n",
        `  - id: analyst
    description: An analyst with a light statement and a planner-cost limit.
    match:
      issuer: [dev]
      sub: ${ANALYST}
    grants:
      - tables: [public.encounters]
    limits:
      maxPlannerCost: 1000000

masking:
`,
      ],
    ]);
    gw = await startTestGateway({ policy });
    nightly = await gw.token(NIGHTLY);
    analyst = await gw.token(ANALYST);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("refuses a statement whose planner cost exceeds the caller's limit before it runs, with the estimate", async () => {
    const answer = await gw.query(analyst, { sql: "SELECT count(*) FROM encounters a, encounters b" });
    expect(answer.status).toBe(403);
    expect(answer.body.error.message).toMatch(/planner estimates a cost over the limit 1000000/);
  });

  it("answers another caller's light statement while three heavy ones are in flight", async () => {
    const LIGHT = "SELECT id, department FROM encounters ORDER BY id LIMIT 3";
    // Decided once beforehand (decisions are cached): in the contest only the statements themselves queue.
    expect((await gw.query(nightly, { sql: HEAVY, dryRun: true })).body.decision).toBe("allow");
    expect((await gw.query(analyst, { sql: LIGHT, dryRun: true })).body.decision).toBe("allow");
    const settled: string[] = [];
    const heavy = [0, 1, 2].map((i) =>
      gw.query(nightly, { sql: HEAVY }).then((answer) => {
        settled.push(`heavy-${i}`);
        return answer;
      }),
    );
    // Let the three reach the executor (one running, two waiting) and the first run a while.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const started = performance.now();
    const light = await gw.query(analyst, { sql: LIGHT });
    const seconds = (performance.now() - started) / 1000;
    settled.push("light");
    console.info(`[fair scheduling] the light statement was answered in ${seconds.toFixed(1)} s`);
    expect(light.status, JSON.stringify(light.body)).toBe(200);
    expect(light.body.rows).toHaveLength(3);
    // Answered while the heavy statements were still in flight: at most the one it displaced had ended.
    expect(settled.filter((s) => s.startsWith("heavy")).length).toBeLessThanOrEqual(1);

    const answers = await Promise.all(heavy);
    // The displaced one is told to retry (429 with Retry-After). The others ran to their timeout, or (the last,
    // which waits for two) waited past the queue bound and is told to retry too: busy, never a 5xx.
    const displaced = answers.filter((a) => /another caller/.test(a.body.error?.message ?? ""));
    expect(displaced).toHaveLength(1);
    expect(Number(displaced[0]?.headers.get("retry-after"))).toBeGreaterThan(0);
    for (const answer of answers) {
      expect([422, 429], JSON.stringify(answer.body)).toContain(answer.status);
      if (answer.status === 429) expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
      else expect(answer.body.error.code).toBe("statement_timeout");
    }
  }, 180_000);
});
