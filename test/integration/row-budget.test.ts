// The PHI row budget (both backends): a read let through as restricted that returns more PHI rows than its rule allows is answered 202, keeps nothing, and verifies.

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assessSession } from "#shared/evidence/assess-session.ts";
import type { HandlerDeps } from "#shared/http/route.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { verifyChain } from "#shared/sessions/chain.ts";
import { decide, waitForStatus } from "#test/support/approvals.ts";
import { ehrBackends } from "#test/support/ehr-backends.ts";
import { NIGHTLY, type TestGateway } from "#test/support/gateway.ts";
import { journalShape } from "#test/support/journal-shape.ts";

/** Small inline results and pages: an overflowing read has begun streaming its result to the store. */
const wrapDeps = (deps: HandlerDeps): HandlerDeps => ({
  ...deps,
  results: { pageSize: 200, inlineMaxBytes: 8 * 1024 },
});

const backends = ehrBackends();

/** Every file under a directory, recursively (paths relative to it). */
/** Files under `directory` whose name or content (an object segment's frames) names `sessionId`. */
async function filesNaming(directory: string, sessionId: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch(() => []);
  const paths = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  const naming: string[] = [];
  for (const path of paths)
    if (path.includes(sessionId) || (await readFile(path)).includes(sessionId)) naming.push(path);
  return naming;
}

const LOOKUP_ELSEWHERE =
  "SELECT p.id, p.ssn, p.first_name, p.last_name, p.dob, p.zip FROM patients p WHERE NOT EXISTS (SELECT 1 FROM patients q WHERE q.mrn = 'nope')";
const MISESTIMATED = [
  "SELECT id, ssn, first_name, last_name, dob, zip FROM patients WHERE id % 1 = 0",
  "SELECT p.id, p.ssn, e.admitted_at FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.id % 1 = 0 AND e.id % 6 = 0",
];

describe.each(backends)("the PHI row budget against $name", (backend) => {
  let gw: TestGateway;
  let nightly: string;
  let alice: string;

  beforeAll(async () => {
    gw = await backend.start({ wrapDeps });
    nightly = await gw.token(NIGHTLY);
    alice = await gw.token("alice", { groups: ["phi-approvers"], claims: { email: "alice@example.test" } });
  });
  afterAll(async () => {
    try {
      await gw?.close();
    } finally {
      await backend.stop();
    }
  });

  it("sends a read the planner misjudged to approval once it returns more than the rule's rows", async () => {
    for (const sql of MISESTIMATED) {
      // The estimate's early answer lets it through ...
      const dry = await gw.query(nightly, { sql, dryRun: true });
      expect(dry.body.decision, sql).toBe("allow");
      // ... what it returns does not.
      const answer = await gw.query(nightly, { sql });
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
      expect(answer.body.rows).toBeUndefined();
      const reasons = answer.body.approval.reasons.join(" ");
      expect(reasons).toMatch(
        /returned more than \d+ PHI rows( \(2 per result row\))? without an approval \((bulk-phi-read|full-history)\)/,
      );
      // The rule's 1000, less what the caller's earlier over-budget runs counted (a few rows each).
      const budget = Number(/returned more than (\d+)/.exec(reasons)?.[1]);
      expect(budget).toBeLessThanOrEqual(1000);
      expect(budget).toBeGreaterThan(990);
    }
  });

  it("still answers a legitimately small restricted read", async () => {
    const few = await gw.query(nightly, {
      sql: "SELECT id, ssn, first_name FROM patients WHERE id BETWEEN 10 AND 19",
    });
    expect(few.status, JSON.stringify(few.body)).toBe(200);
    expect(few.body.rows).toHaveLength(10);
  });

  it("keeps nothing of an overflowing result; the approved re-run is not budgeted and the records verify", async () => {
    // A lookup elsewhere in the statement restricts nothing: the value-blind estimate sends it to approval early.
    const early = await gw.query(nightly, { sql: LOOKUP_ELSEWHERE });
    expect(early.status, JSON.stringify(early.body)).toBe(202);
    expect(early.body.approval.reasons.join(" ")).toMatch(
      /planner estimates to leave more than 1000 PHI rows/,
    );
    // A misjudged predicate runs, overflows its budget (the caller's earlier rows taken from it), keeps nothing.
    const answer = await gw.query(nightly, { sql: MISESTIMATED[0] ?? "" });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    const { sessionId } = answer.body;
    expect(answer.body.approval.reasons).toEqual([
      expect.stringMatching(/^returned more than \d+ PHI rows without an approval \(bulk-phi-read\)$/),
    ]);
    expect(await filesNaming(join(gw.dataDir, "objects"), sessionId)).toEqual([]);
    const pending = await gw.host.deps.sessions.get(sessionId);
    expect(pending?.transitions.map((t) => t.status)).toEqual(["running", "pending_approval"]);
    expect(pending?.decision).toMatchObject({
      outcome: "require_approval",
      rowBudget: { rows: expect.any(Number), rule: "bulk-phi-read", action: "require_approval" },
    });
    expect(pending?.result).toBeNull();

    const approved = await decide(gw, alice, answer.body.approval.id, { decision: "approve" });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const done = await waitForStatus(gw, nightly, sessionId, ["completed", "failed"]);
    expect(done.body.status, JSON.stringify(done.body.error)).toBe("completed");
    expect(done.body.result.rowCount).toBe(10_000);
    const record = await gw.host.deps.sessions.get(sessionId);
    if (record === undefined) throw new Error("the session was not recorded");
    const audit = await assessSession(record, gw.host.deps.policy.current(), undefined);
    expect(audit).toMatchObject({ authorization: "ok", masking: "ok", review: "approved", findings: [] });
    const today = new Date().toISOString().slice(0, 10);
    const entries: ChainEntry[] = [];
    for await (const entry of gw.host.deps.sessions.entries("2000-01-01", today)) entries.push(entry);
    expect(verifyChain(entries)).toEqual([]);
  }, 120_000);

  it("admits a caller's concurrent slices one at a time: at most the budget returns without approval", async () => {
    const slice = (k: number) =>
      `SELECT id, ssn FROM patients WHERE id > 0 ORDER BY id LIMIT 150 OFFSET ${2000 + k * 150}`;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, k) => gw.query(nightly, { sql: slice(k) })),
    );
    const returned = answers
      .filter((a) => a.status === 200)
      .reduce((sum, a) => sum + (a.body.rows as unknown[]).length, 0);
    expect(answers.every((a) => a.status === 200 || a.status === 202)).toBe(true);
    expect(returned).toBeLessThanOrEqual(1000);
    expect(returned).toBeGreaterThan(0);
  }, 120_000);

  it("wrote every session record exactly in its schema's shape (the stores do not re-parse what they write)", async () => {
    const shape = await journalShape(gw.dataDir);
    expect(shape.records).toBeGreaterThan(5);
    expect(shape.outOfShape).toEqual([]);
  });
});
