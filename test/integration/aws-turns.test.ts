// Parallel windowed slices on two function instances (loopback AWS): one admission key's turn is a lease, so the
// slices together stay within the budget, and the one whose turn is held past its wait is answered 429, not 500.

import { afterAll, beforeAll, expect, it } from "vitest";
import { demoPolicyWith } from "#test/support/approvals.ts";
import { type Deployment, deploy } from "#test/support/aws/deployment.ts";
import { describeWithPostgres } from "#test/support/postgres-server.ts";

const BRANCH = (name: string) => `repo:acme/ehr-reports:ref:refs/heads/${name}`;
const slice = (k: number) =>
  `SELECT id, ssn FROM patients WHERE id BETWEEN ${k * 500 + 1} AND ${(k + 1) * 500}`;

let d: Deployment;

async function query(
  subject: string,
  sql: string,
): Promise<{ status: number; headers: Readonly<Record<string, string>>; body: Record<string, unknown> }> {
  const token = await d.oidc.ciToken(subject, "phigate");
  const answer = await d.cloud.api.send({
    method: "POST",
    path: "/v1/queries",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ sql, purpose: "e2e parallel slices" }),
  });
  return {
    status: answer.status,
    headers: answer.headers,
    body: JSON.parse(answer.body) as Record<string, unknown>,
  };
}

function leases(): number {
  const sessions = d.cloud.stack
    .ofType("AWS::DynamoDB::Table")
    .find((t) => t.logicalId.startsWith("StorageSessions"));
  return d.cloud.dynamo
    .items(d.cloud.stack.ref(sessions?.logicalId ?? ""))
    .filter((item) => item.pk?.S?.startsWith("turn#") === true).length;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(check()).toBe(true);
}

describeWithPostgres("windowed slices on two function instances", () => {
  beforeAll(async () => {
    d = await deploy({
      policy: async ({ ci, approver }) =>
        demoPolicyWith([
          ["github: https://token.actions.githubusercontent.com", `github: ${ci}`],
          ["dev: dev-idp", `dev: ${approver}`],
          [
            'sub: "repo:acme/ehr-reports:ref:refs/heads/main"',
            'sub: "repo:acme/ehr-reports:ref:refs/heads/*"',
          ],
        ]),
    });
  }, 240_000);

  afterAll(async () => {
    if (d !== undefined) d.cloud.dataApi.hold = undefined;
    await d?.close();
  });

  it("serves one slice at a time per policy principal: the waiting one gets 429 with Retry-After, then the budget holds", async () => {
    // Two warm instances of the query function first (two statements held at once), so the second slice's
    // instance answers well inside the first slice's lease (statement timeout + margin), cold starts aside.
    let warmed = 0;
    let releaseWarm: () => void = () => undefined;
    const warm = new Promise<void>((resolve) => {
      releaseWarm = resolve;
    });
    d.cloud.dataApi.hold = (sql) => {
      if (/^\s*EXPLAIN/i.test(sql) || !sql.includes("1 AS warm")) return undefined;
      warmed += 1;
      return warm;
    };
    const warming = [0, 1].map(() => query(BRANCH("warm"), "SELECT 1 AS warm"));
    await until(() => warmed === 2);
    releaseWarm();
    expect((await Promise.all(warming)).map((a) => a.status)).toEqual([200, 200]);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = false;
    d.cloud.dataApi.hold = (sql) => {
      if (/^\s*EXPLAIN/i.test(sql) || !sql.includes("BETWEEN 1 AND 500")) return undefined;
      held = true;
      return gate;
    };
    const first = query(BRANCH("slice-a"), slice(0));
    await until(() => held && leases() === 1);
    // Another branch of the same principal, on another instance (the first one is busy): its turn is held.
    const second = await query(BRANCH("slice-b"), slice(1));
    expect(leases()).toBe(1);
    expect(second.status, JSON.stringify(second.body)).toBe(429);
    expect(Number(second.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect((second.body.error as { code: string }).code).toBe("rate_limited");
    release();
    expect((await first).status).toBe(200);
    expect(leases()).toBe(0);
    // With the first slice counted, the second fits what is left of 1,000 rows; a third does not.
    expect((await query(BRANCH("slice-b"), slice(1))).status).toBe(200);
    expect((await query(BRANCH("slice-c"), slice(2))).status).toBe(202);
  }, 180_000);

  it("made no call its caller's IAM policy refuses", () => {
    const refused = d.cloud.iam.violations.map(
      (v) => `${v.principal.split("/").pop()} ${v.action} ${v.resource} (${v.reason})`,
    );
    expect(refused).toEqual([]);
  });
});
