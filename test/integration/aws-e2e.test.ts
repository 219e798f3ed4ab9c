// The AWS host end to end on 127.0.0.1: the synthesized stack "deployed" onto loopback stand-ins speaking the AWS wire
// protocols (RDS Data API over PostgreSQL, DynamoDB, S3, Step Functions, KMS, SNS, Secrets Manager), the functions'
// bundles run as Lambda runs them with their template environment and roles, every call checked against its caller's
// IAM policy, API Gateway v2 events for the whole story, and the requests per query counted by service.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RESULTS_PREFIX } from "#shared/sessions/run-statement.ts";
import { demoPolicyWith, RAW_SSN, RISKY_SMALL_SQL } from "#test/support/approvals.ts";
import type { ApiResponse } from "#test/support/aws/api-gateway.ts";
import { approveOnPage } from "#test/support/aws/approver.ts";
import { type Deployment, deploy } from "#test/support/aws/deployment.ts";
import { awaitBundle } from "#test/support/aws/evidence-jobs.ts";
import { countsByService, printCosts, type QueryCount } from "#test/support/aws/request-counts.ts";
import { describeWithPostgres } from "#test/support/postgres-server.ts";

const NIGHTLY = "repo:acme/ehr-reports:ref:refs/heads/main";
const AUDITOR = "repo:acme/audit:ref:refs/heads/main";
const SMALL_SQL = "SELECT mrn, ssn, dob, zip FROM patients ORDER BY id LIMIT 20";
// Under the demo's bulk-read threshold (1,000 rows by the planner's estimate), past encounter 1 (over the Data API's
// 64 KB row limit); stored in S3 because post-query's inline limit is lowered for this run.
const LARGE_SQL =
  "SELECT e.id, e.department, e.notes FROM encounters e WHERE e.id BETWEEN 2 AND 900 ORDER BY e.id";

let d: Deployment;
const counted: QueryCount[] = [];
let expiringSession = "";
let orphaned: Promise<ApiResponse> | undefined;
let expiringSubmittedAt = 0;

function download(url: string, ca: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpsRequest(url, { ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    })
      .on("error", reject)
      .end();
  });
}

/** Copies a bundle out of the evidence bucket (as `aws s3 cp --recursive` would) and runs the offline verifier. */
async function verifyBundle(bundleId: string, fingerprint: string): Promise<{ code: number; out: string }> {
  const evidence = d.cloud.stack
    .ofType("AWS::S3::Bucket")
    .find((b) => b.logicalId.startsWith("StorageEvidence"));
  const folder = join(d.dir, "bundles-out", bundleId);
  const prefix = `bundles/${bundleId}/`;
  for (const [key, versions] of d.cloud.s3.versions(d.cloud.stack.ref(evidence?.logicalId ?? ""))) {
    const current = versions[versions.length - 1];
    if (!key.startsWith(prefix) || current === undefined || current.deleteMarker) continue;
    const file = join(folder, key.slice(prefix.length));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, current.body);
  }
  return promisify(execFile)(process.execPath, [
    "bin/phigate.mjs",
    "verify-evidence",
    folder,
    "--trusted-key",
    fingerprint,
  ]).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      out: `${e.stdout}${e.stderr}`,
    }),
  );
}

async function query(sql: string, params: unknown[] = [], spentMs?: number): Promise<ApiResponse> {
  const token = await d.oidc.ciToken(NIGHTLY, "phigate");
  return d.cloud.api.send({
    method: "POST",
    path: "/v1/queries",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ sql, params, purpose: "e2e report" }),
    ...(spentMs === undefined ? {} : { spentMs }),
  });
}

async function session(id: string, wait = 0): Promise<Record<string, unknown>> {
  const token = await d.oidc.ciToken(NIGHTLY, "phigate");
  const answer = await d.cloud.api.send({
    method: "GET",
    path: `/v1/sessions/${id}${wait > 0 ? `?wait=${wait}` : ""}`,
    headers: { authorization: `Bearer ${token}` },
  });
  expect(answer.status, answer.body).toBe(200);
  return JSON.parse(answer.body) as Record<string, unknown>;
}

async function settle(
  id: string,
  statuses: readonly string[],
  seconds: number,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const view = await session(id, 5);
    if (statuses.includes(String(view.status)) || Date.now() > deadline) return view;
  }
}

describeWithPostgres("the AWS host end to end on loopback stand-ins", () => {
  beforeAll(async () => {
    d = await deploy({
      policy: async ({ ci, approver }) =>
        demoPolicyWith([
          ["github: https://token.actions.githubusercontent.com", `github: ${ci}`],
          ["dev: dev-idp", `dev: ${approver}`],
          ["ttlSeconds: 3600", "ttlSeconds: 60"],
          // Auditors call from CI too (the edge trusts one issuer): an audit workflow of the same organization.
          [
            "auditors:\n    match:\n      issuer: [dev]\n      groups: [auditors]",
            `auditors:\n    match:\n      issuer: [github]\n      sub: "${AUDITOR}"`,
          ],
        ]),
      // Long clinical notes: 500-row pages of the large query exceed the Data API's 1 MiB response, and one note
      // alone is over its 64 KB row limit.
      // The keeper's orphan age (660 s from the template) shortened so the run can see a sweep.
      environment: {
        "approval-keeper": { PHIGATE_ORPHAN_AFTER_SECONDS: "5" },
        "post-query": { PHIGATE_INLINE_MAX_BYTES: "16384" },
      },
      prepare: async (db) => {
        await db.query(
          "UPDATE encounters SET notes = repeat('routine follow-up, stable. ', 100) WHERE id BETWEEN 2 AND 700",
        );
        await db.query("UPDATE encounters SET notes = repeat('long history. ', 6000) WHERE id = 1");
      },
    });
    console.log("[aws-e2e] setup seconds", d.timings);
  }, 240_000);

  afterAll(async () => {
    await d?.close();
  });

  it("signs the functions in as the read-only role the deploy created and verified (never the master user)", async () => {
    expect(d.cloud.customResources.map((c) => [c.status, c.reason ?? "", c.data.Username])).toEqual([
      ["SUCCESS", "", "phigate_reader"],
    ]);
    const env = d.cloud.lambda.byId("post-query").environment;
    const secret = JSON.parse(d.cloud.secrets.secretString(env.PHIGATE_DB_SECRET_ARN ?? "") ?? "{}") as {
      username?: string;
    };
    expect(secret.username).toBe("phigate_reader");
    const reader = new pg.Client({
      host: d.postgres.host,
      port: d.postgres.port,
      user: "phigate_reader",
      database: "ehr",
    });
    await reader.connect();
    try {
      const { rows } = await reader.query("SELECT current_setting('default_transaction_read_only') AS ro");
      expect(rows[0]?.ro).toBe("on");
      await expect(reader.query("BEGIN READ WRITE; DELETE FROM patients WHERE id = 1")).rejects.toMatchObject(
        { code: "42501" },
      );
    } finally {
      await reader.end();
    }
  });

  it("leaves a session running when S3 hangs past the function's timeout (the keeper must fail it later)", async () => {
    // The result's PutObject is served, then its answer held past the route's 29 s: Lambda stops the function
    // between the write and the session's completion. The rest of the run goes on meanwhile.
    const held = d.cloud.endpoint.stall("s3:PutObject", `/${RESULTS_PREFIX}`, 40_000);
    orphaned = query("SELECT mrn, zip FROM patients ORDER BY id LIMIT 3");
    orphaned.catch(() => undefined);
    await held;
  });

  it("starts an approval nobody will decide (it must expire by the end of the run)", async () => {
    const answer = await query(RISKY_SMALL_SQL, ["x%"]);
    expect(answer.status, answer.body).toBe(202);
    expiringSession = String(JSON.parse(answer.body).sessionId);
    expiringSubmittedAt = Date.now();
  });

  it("answers a low-risk query with masked rows", async () => {
    // The function the hung S3 call timed out still holds this caller's turn for PHI reads until its lease ends:
    // the caller is told 429 with Retry-After, and repeats (as the CLI does).
    for (let attempt = 0; attempt < 5; attempt++) {
      const first = await query(SMALL_SQL);
      if (first.status !== 429) break;
      const wait = (JSON.parse(first.body) as { error: { details?: { retryAfterSeconds?: number } } }).error
        .details?.retryAfterSeconds;
      await new Promise((resolve) => setTimeout(resolve, ((wait ?? 1) + 0.5) * 1000));
    }
    const mark = d.cloud.endpoint.mark();
    const answer = await query(SMALL_SQL);
    expect(answer.status, answer.body).toBe(200);
    const body = JSON.parse(answer.body) as { rows: unknown[][]; status: string };
    expect(body.rows).toHaveLength(20);
    expect(answer.body).not.toMatch(RAW_SSN);
    counted.push({ name: "low-risk query (inline, warm)", calls: d.cloud.endpoint.since(mark) });
    const again = d.cloud.endpoint.mark();
    expect((await query(SMALL_SQL)).status).toBe(200);
    counted.push({ name: "low-risk query (inline, warm, 2nd)", calls: d.cloud.endpoint.since(again) });
  });

  it("streams a large result to S3 and serves it through a presigned URL whose bytes match the recorded digest", async () => {
    const mark = d.cloud.endpoint.mark();
    const answer = await query(LARGE_SQL);
    expect(answer.status, answer.body).toBe(200);
    const body = JSON.parse(answer.body) as { resultUrl: string; resultSha256: string };
    expect(body.resultUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/.*X-Amz-Signature=/);
    const fetched = await download(body.resultUrl, d.tls.cert);
    expect(fetched.status).toBe(200);
    expect(createHash("sha256").update(fetched.body).digest("hex")).toBe(body.resultSha256);
    const lines = gunzipSync(fetched.body).toString("utf8").trim().split("\n");
    expect(JSON.parse(lines[0] ?? "{}").format).toBe("phigate.result.ndjson/v1");
    expect(lines.length).toBe(900);
    counted.push({ name: "large query (streamed to S3)", calls: d.cloud.endpoint.since(mark) });
    const tampered = body.resultUrl.replace(/X-Amz-Signature=[0-9a-f]{4}/, "X-Amz-Signature=0000");
    const rejectedBefore = d.cloud.endpoint.rejected.length;
    expect((await download(tampered, d.tls.cert)).status).toBe(403);
    expect(d.cloud.endpoint.rejected.splice(rejectedBefore).map((r) => r.reason)).toEqual([
      expect.stringMatching(/^SignatureDoesNotMatch/),
    ]);
  });

  it("waits for a paused cluster to resume (DatabaseResumingException) within the invocation's time", async () => {
    d.cloud.dataApi.resumingCalls = 2;
    try {
      const answer = await query(SMALL_SQL);
      expect(answer.status, answer.body).toBe(200);
      expect(d.cloud.dataApi.resumingCalls).toBe(0);
    } finally {
      d.cloud.dataApi.resumingCalls = 0;
    }
  });

  it("binds a string parameter with the type PostgreSQL infers (the Data API sends strings as VARCHAR)", async () => {
    const answer = await query("SELECT mrn, dob FROM patients WHERE id = $1", ["7"]);
    expect(answer.status, answer.body).toBe(200);
    expect((JSON.parse(answer.body) as { rows: unknown[] }).rows).toHaveLength(1);
  });

  it("answers its own recorded 503 before API Gateway's 29 s run out, when the edge already spent most of them", async () => {
    // A cold start (or a wait for a free environment) spends the integration's time before Lambda's deadline starts;
    // the edge's bare 503 would carry no session id. The function counts from the event's timeEpoch.
    const answer = await query(SMALL_SQL, [], 26_000);
    expect(answer.functionId, answer.body).toBe("post-query");
    expect(answer.status, answer.body).toBe(503);
    const body = JSON.parse(answer.body) as { error: { code: string; sessionId?: string } };
    expect(body.error.code).toBe("database_unavailable");
    expect(body.error.sessionId).toMatch(/^ses_/);
    expect(await session(String(body.error.sessionId))).toMatchObject({ status: "failed" });
  });

  it("refuses a row over the Data API's 64 KB with a 422 (a documented limit), not a 503 to retry", async () => {
    const answer = await query("SELECT e.id, e.notes FROM encounters e WHERE e.id = 1");
    expect(answer.status, answer.body).toBe(422);
    // Notes are protected: the caller learns only that the statement failed (row_too_large stays in the record).
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "execution_failed" } });
  });

  it("refuses a caller no principal matches before parsing: no Data API call, recorded up to a threshold, then counted", async () => {
    const stranger = await d.oidc.ciToken("repo:someone/else:ref:refs/heads/main", "phigate", {
      repository_owner_id: "999",
    });
    const attempt = () =>
      d.cloud.api.send({
        method: "POST",
        path: "/v1/queries",
        headers: { authorization: `Bearer ${stranger}`, "content-type": "application/json" },
        body: JSON.stringify({ sql: "SELECT ssn FROM patients", params: [] }),
      });
    const mark = d.cloud.endpoint.mark();
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await attempt());
    const bodies = answers.map((a) => JSON.parse(a.body) as { error: { code: string; sessionId?: string } });
    expect(answers.map((a) => a.status)).toEqual([403, 403, 403, 403, 403, 403, 403]);
    expect(bodies.every((b) => b.error.code === "policy_denied")).toBe(true);
    expect(bodies.filter((b) => b.error.sessionId !== undefined)).toHaveLength(5);
    const calls = d.cloud.endpoint.since(mark);
    expect(calls.filter((c) => c.service === "rds-data")).toEqual([]);
    expect(calls.filter((c) => c.operation === "TransactWriteItems")).toHaveLength(5);
    counted.push({ name: "unknown caller (7 attempts)", calls });
  });

  it("holds a risky query for an approver who decides on the page; the state machine then runs it", async () => {
    // Lambda throttles notify-approvers once: AwaitDecision retries instead of failing the approval closed.
    d.cloud.sfn.throttleNext.push(d.cloud.lambda.byId("task-notify-approvers").arn);
    const mark = d.cloud.endpoint.mark();
    const answer = await query(RISKY_SMALL_SQL, ["1%"]);
    expect(answer.status, answer.body).toBe(202);
    const { sessionId, approval } = JSON.parse(answer.body) as {
      sessionId: string;
      approval: { id: string };
    };
    const execution = d.cloud.sfn.execution(d.cloud.stateMachineArn, approval.id);
    expect(execution?.status).toBe("RUNNING");
    await expect
      .poll(() => d.cloud.sns.published.some((m) => m.message.includes(approval.id)), { timeout: 30_000 })
      .toBe(true);
    const notice = d.cloud.sns.published.find((m) => m.message.includes(approval.id));
    expect(notice?.message).not.toMatch(/SELECT|ssn/);
    await approveOnPage(d, approval.id);
    const view = await settle(sessionId, ["completed", "failed"], 60);
    expect(view.status, JSON.stringify(view)).toBe("completed");
    expect(JSON.stringify(view)).not.toMatch(RAW_SSN);
    await execution?.done;
    expect(execution?.status).toBe("SUCCEEDED");
    expect(execution?.visited).toEqual([
      "PlanWait",
      "CheckTimeLeft",
      "AwaitDecision",
      "Decide",
      "Execute",
      "Done",
    ]);
    counted.push({
      name: "risky query, approved on the page",
      calls: d.cloud.endpoint.since(mark),
      transitions: execution?.transitions ?? 0,
    });
  });

  it("expires the approval nobody decided: the wait times out and the session is closed expired", async () => {
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, expiringSubmittedAt + 64_000 - Date.now())),
    );
    const view = await settle(expiringSession, ["expired"], 30);
    expect(view.status).toBe("expired");
  }, 120_000);

  it("fails the session a timed-out function left running: the keeper's sweep of the running-sessions index", async () => {
    // Lambda's timeout (500) or API Gateway's 30 s (503), whichever a cold start makes come first.
    const answer = await orphaned;
    expect(answer?.status).toBeGreaterThanOrEqual(500);
    const sessions = d.cloud.stack
      .ofType("AWS::DynamoDB::Table")
      .find((t) => t.logicalId.startsWith("StorageSessions"));
    const indexed = () =>
      d.cloud.dynamo
        .items(d.cloud.stack.ref(sessions?.logicalId ?? ""))
        .filter((i) => i.runningPk !== undefined)
        .map((i) => String(i.pk?.S).replace(/^session#/, ""));
    const [id = ""] = indexed();
    expect(indexed()).toEqual([id]);
    expect((await session(id)).status).toBe("running");

    const mark = d.cloud.endpoint.mark();
    const swept = await d.cloud.lambda.invokeById("approval-keeper", { "detail-type": "Scheduled Event" });
    expect(swept).toMatchObject({ result: { orphans: 1 } });
    counted.push({ name: "keeper sweep (one orphan)", calls: d.cloud.endpoint.since(mark) });
    expect(await session(id)).toMatchObject({ status: "failed", error: { code: "interrupted" } });
    expect(indexed()).toEqual([]);
    // The failure is a chain record like any other (the auditor's bundle below covers it and verifies).
    const replay = await d.cloud.api.send({
      method: "GET",
      path: `/v1/sessions/${id}/replay`,
      headers: { authorization: `Bearer ${await d.oidc.ciToken(NIGHTLY, "phigate")}` },
    });
    expect(replay.status, replay.body).toBe(200);
    expect(replay.body).toContain('"failed"');
  }, 60_000);

  it("writes evidence bundles (the nightly job's, an auditor's) that `phigate verify-evidence` accepts against the KMS key", async () => {
    const signingKey = d.cloud.stack
      .ofType("AWS::KMS::Key")
      .find((k) => k.properties.KeyUsage === "SIGN_VERIFY");
    const fingerprint = createHash("sha256")
      .update(d.cloud.kms.publicKeyDer(d.cloud.stack.getAtt(signingKey?.logicalId ?? "", "Arn")))
      .digest("hex");
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    let mark = d.cloud.endpoint.mark();
    const nightly = await d.cloud.lambda.invokeById("nightly-evidence", { day: yesterday });
    expect("result" in nightly, JSON.stringify(nightly)).toBe(true);
    counted.push({ name: "nightly evidence bundle (empty day)", calls: d.cloud.endpoint.since(mark) });
    const nightlyId = (nightly as { result: { bundleId: string } }).result.bundleId;
    expect(await verifyBundle(nightlyId, fingerprint)).toMatchObject({ code: 0 });

    // A result the lifecycle already expired: the bundle counts it missing (404) instead of failing on a 403.
    const results = d.cloud.stack
      .ofType("AWS::S3::Bucket")
      .find((b) => b.logicalId.startsWith("StorageResults"));
    const resultsBucket = d.cloud.stack.ref(results?.logicalId ?? "");
    const expired = [...d.cloud.s3.versions(resultsBucket).keys()].find((k) => k.endsWith(".ndjson.gz"));
    expect(expired).toBeDefined();
    d.cloud.s3.expire(resultsBucket, expired ?? "", new Date());

    mark = d.cloud.endpoint.mark();
    const today = `${new Date().toISOString().slice(0, 10)}T00:00:00Z`;
    const made = await d.cloud.api.send({
      method: "POST",
      path: "/v1/evidence-bundles",
      headers: {
        authorization: `Bearer ${await d.oidc.ciToken(AUDITOR, "phigate")}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ from: today, to: new Date(Date.now() - 1000).toISOString() }),
    });
    expect(made.status, made.body).toBe(202);
    const created = await awaitBundle(d, JSON.parse(made.body) as { statusUrl: string }, AUDITOR);
    counted.push({ name: "auditor's evidence bundle (today)", calls: d.cloud.endpoint.since(mark) });
    expect(created.entries).toBeGreaterThan(5);
    expect(created.keyFingerprint).toBe(fingerprint);
    expect(await verifyBundle(created.bundleId, fingerprint)).toMatchObject({ code: 0 });
  }, 120_000);

  it("made no call its caller's IAM policy refuses, and every request was signed and served", () => {
    const refused = d.cloud.iam.violations.map(
      (v) => `${v.principal.split("/").pop()} ${v.action} ${v.resource} (${v.reason})`,
    );
    expect(refused).toEqual([]);
    expect(d.cloud.endpoint.rejected).toEqual([]);
    expect(d.cloud.dataApi.openTransactions).toBe(0);
  });

  it("kept PHI, SQL text and tokens out of every function's log", () => {
    for (const [fn, lines] of d.cloud.lambda.logs) {
      const text = lines.join("\n");
      expect(text, fn).not.toMatch(RAW_SSN);
      expect(text, fn).not.toMatch(/SELECT .* FROM/i);
      expect(text, fn).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}\./);
    }
  });

  it("counts the requests per query by service (the input of a cost model)", () => {
    const table = counted.map((c) => ({ ...c, byService: countsByService(c.calls) }));
    printCosts(table);
    const small = table[1]?.byService ?? {};
    expect(small["rds-data"]).toBeGreaterThan(0);
    expect(small.dynamodb).toBeGreaterThan(0);
  });
});
