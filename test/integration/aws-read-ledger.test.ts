// The read ledger on the AWS host (loopback stand-ins): key-range slices of one caller add up in the ledger's
// DynamoDB items (ADD, per principal × table × bucket) under the deciding function's IAM policy.

import { afterAll, beforeAll, expect, it } from "vitest";
import { demoPolicyWith } from "#test/support/approvals.ts";
import { type Deployment, deploy } from "#test/support/aws/deployment.ts";
import { describeWithPostgres } from "#test/support/postgres-server.ts";

const NIGHTLY = "repo:acme/ehr-reports:ref:refs/heads/main";

let d: Deployment;

async function query(sql: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const token = await d.oidc.ciToken(NIGHTLY, "phigate");
  const answer = await d.cloud.api.send({
    method: "POST",
    path: "/v1/queries",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ sql, purpose: "e2e slices" }),
  });
  return { status: answer.status, body: JSON.parse(answer.body) as Record<string, unknown> };
}

describeWithPostgres("the read ledger on the AWS host", () => {
  beforeAll(async () => {
    d = await deploy({
      policy: async ({ ci, approver }) =>
        demoPolicyWith([
          ["github: https://token.actions.githubusercontent.com", `github: ${ci}`],
          ["dev: dev-idp", `dev: ${approver}`],
        ]),
    });
  }, 240_000);

  afterAll(async () => {
    await d?.close();
  });

  it("counts BETWEEN slices of one caller together: the slice after 1000 PHI rows needs approval", async () => {
    const statuses: number[] = [];
    for (const k of [0, 1, 2]) {
      const answer = await query(
        `SELECT id, ssn FROM patients WHERE id BETWEEN ${k * 500 + 1} AND ${(k + 1) * 500}`,
      );
      statuses.push(answer.status);
      if (answer.status === 202) {
        const approval = answer.body.approval as { reasons: string[] };
        expect(approval.reasons.join(" ")).toMatch(/1000 PHI rows were already returned to this caller/);
      }
    }
    expect(statuses).toEqual([200, 200, 202]);

    const sessions = d.cloud.stack
      .ofType("AWS::DynamoDB::Table")
      .find((t) => t.logicalId.startsWith("StorageSessions"));
    const ledger = d.cloud.dynamo
      .items(d.cloud.stack.ref(sessions?.logicalId ?? ""))
      .filter((item) => item.pk?.S?.startsWith("reads#") === true);
    // One item per bucket the two slices fell in, keyed by the principal key's digest, never the key itself.
    expect(ledger.length).toBeGreaterThan(0);
    expect(ledger.every((item) => /^reads#[0-9a-f]{64}#public\.patients$/.test(item.pk?.S ?? ""))).toBe(true);
    // The two slices' 1,000 rows, and the 202 that followed (decided by the estimate, it counts one).
    expect(ledger.reduce((sum, item) => sum + Number(item.rows?.N ?? 0), 0)).toBe(1001);
    expect(ledger.every((item) => Number(item.expiresAt?.N) > Date.now() / 1000 + 86_400)).toBe(true);
  }, 120_000);

  it("made no call its caller's IAM policy refuses", () => {
    const refused = d.cloud.iam.violations.map(
      (v) => `${v.principal.split("/").pop()} ${v.action} ${v.resource} (${v.reason})`,
    );
    expect(refused).toEqual([]);
  });
});
