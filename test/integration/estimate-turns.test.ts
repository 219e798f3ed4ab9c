// Planner estimates take the caller's turns on the embedded PGlite: one caller's costly-to-plan dry runs cannot starve another caller's light statement.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoPolicyWith } from "#test/support/approvals.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

const CLINICIAN = "clinician-3";
/**
 * Costly to plan (the planner sees no value, so nothing is folded there): 250 eleven-way joins, each searched for
 * its join order, about two seconds of the single worker for one EXPLAIN (93 kB of text).
 */
const costlyToPlan = (n: number): string =>
  Array.from({ length: 250 }, (_, k) => {
    const tables = Array.from({ length: 11 }, (_, i) => `patients a${i}`).join(",");
    const chain = Array.from({ length: 10 }, (_, i) => `a${i}.id=a${(i * 7 + 3) % 11}.id+${k}`).join(" AND ");
    return `SELECT a0.id FROM ${tables} WHERE ${chain} AND a0.id>${n}`;
  }).join(" UNION ALL ");

describe("planner estimates in the caller's turns on the embedded PGlite", () => {
  let gw: TestGateway;
  let nightly: string;
  let clinician: string;

  beforeAll(async () => {
    const policy = await demoPolicyWith([
      [
        "masking:\n",
        `  - id: clinician
    description: Another caller, with a light statement the risk rules ask the planner about.
    match:
      issuer: [dev]
      sub: ${CLINICIAN}
    grants:
      - tables: [public.patients]

masking:
`,
      ],
    ]);
    gw = await startTestGateway({ policy, pglite: { queueTimeoutMs: 8_000, fairSliceMs: 1_000 } });
    nightly = await gw.token(NIGHTLY);
    clinician = await gw.token(CLINICIAN);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("answers another caller while one caller's dry runs are costly to plan; the costly ones are told to retry", async () => {
    // Three: one planning, two waiting (analysing 93 kB takes the main thread a few tenths of a second each).
    const attack = Array.from({ length: 3 }, (_, i) =>
      gw.query(nightly, { sql: costlyToPlan(i), dryRun: true }),
    );
    // Let the dry runs reach the executor (one planning, the rest waiting).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const light = await gw.query(clinician, { sql: "SELECT id, zip FROM patients WHERE id = 5" });
    expect(light.status, JSON.stringify(light.body)).toBe(200);
    expect(light.body.rows).toHaveLength(1);
    const statuses = (await Promise.all(attack)).map((a) => a.status);
    expect(statuses).toContain(429);
  }, 120_000);
});
