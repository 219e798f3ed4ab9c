// The AWS host's edges on the loopback stand-ins: the Lambda authorizer of `allowedClaims` stops a stranger's token
// before any route runs, and an auditor's evidence bundle is a job (202, status polled, verified; a failed build ends
// `failed` with no manifest).

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { demoPolicyWith } from "#test/support/approvals.ts";
import { type Deployment, deploy } from "#test/support/aws/deployment.ts";
import { awaitBundle } from "#test/support/aws/evidence-jobs.ts";
import { describeWithPostgres } from "#test/support/postgres-server.ts";

const NIGHTLY = "repo:acme/ehr-reports:ref:refs/heads/main";
const AUDITOR = "repo:acme/audit:ref:refs/heads/main";
const OWNER_ID = "4242";

let d: Deployment;

function evidenceBucket(): string {
  const bucket = d.cloud.stack
    .ofType("AWS::S3::Bucket")
    .find((b) => b.logicalId.startsWith("StorageEvidence"));
  return d.cloud.stack.ref(bucket?.logicalId ?? "");
}

/** The current (not deleted) objects under a bundle's prefix, by path inside the bundle. */
function bundleFiles(bundleId: string): Map<string, Buffer> {
  const prefix = `bundles/${bundleId}/`;
  const files = new Map<string, Buffer>();
  for (const [key, versions] of d.cloud.s3.versions(evidenceBucket())) {
    const current = versions[versions.length - 1];
    if (key.startsWith(prefix) && current !== undefined && !current.deleteMarker)
      files.set(key.slice(prefix.length), current.body);
  }
  return files;
}

async function verify(bundleId: string, fingerprint: string): Promise<{ code: number; out: string }> {
  const folder = join(d.dir, "bundles-out", bundleId);
  for (const [path, body] of bundleFiles(bundleId)) {
    await mkdir(dirname(join(folder, path)), { recursive: true });
    await writeFile(join(folder, path), body);
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

async function requestBundle(): Promise<{ status: number; body: string }> {
  return d.cloud.api.send({
    method: "POST",
    path: "/v1/evidence-bundles",
    headers: {
      authorization: `Bearer ${await d.oidc.ciToken(AUDITOR, "phigate")}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({
      from: `${new Date().toISOString().slice(0, 10)}T00:00:00Z`,
      to: new Date(Date.now() - 1000).toISOString(),
    }),
  });
}

describeWithPostgres("the AWS host's edges on loopback stand-ins", () => {
  beforeAll(async () => {
    d = await deploy({
      policy: async ({ ci, approver }) =>
        demoPolicyWith([
          ["github: https://token.actions.githubusercontent.com", `github: ${ci}`],
          ["dev: dev-idp", `dev: ${approver}`],
          [
            "auditors:\n    match:\n      issuer: [dev]\n      groups: [auditors]",
            `auditors:\n    match:\n      issuer: [github]\n      sub: "${AUDITOR}"`,
          ],
        ]),
      context: { allowedClaims: JSON.stringify({ repository_owner_id: [OWNER_ID] }) },
      patients: 200,
    });
  }, 240_000);

  afterAll(async () => {
    await d?.close();
  });

  it("refuses a stranger's token at the edge (403 from the authorizer, no route function invoked)", async () => {
    const routeInvocations = () =>
      [...d.cloud.lambda.invocations]
        .filter(([id]) => id !== "edge-authorizer")
        .reduce((n, [, c]) => n + c, 0);
    const before = routeInvocations();
    const stranger = await d.oidc.ciToken("repo:mallory/tools:ref:refs/heads/main", "phigate", {
      repository_owner_id: "9999",
    });
    for (const request of [
      {
        method: "POST" as const,
        path: "/v1/queries",
        body: JSON.stringify({ sql: "SELECT 1", purpose: "probe" }),
      },
      { method: "GET" as const, path: "/v1/catalog" },
    ]) {
      const answer = await d.cloud.api.send({
        ...request,
        headers: { authorization: `Bearer ${stranger}`, "content-type": "application/json" },
      });
      expect(answer.status, answer.body).toBe(403);
      expect(answer.functionId).toBeUndefined();
    }
    // A token whose signature does not verify is refused as well, whatever claims it names.
    const [head, , signature] = stranger.split(".");
    const forged = `${head}.${Buffer.from(JSON.stringify({ iss: "x", repository_owner_id: OWNER_ID })).toString("base64url")}.${signature}`;
    const refused = await d.cloud.api.send({
      method: "GET",
      path: "/v1/catalog",
      headers: { authorization: `Bearer ${forged}` },
    });
    expect(refused.status).toBe(403);
    expect(routeInvocations()).toBe(before);
    expect(d.cloud.lambda.invocations.get("edge-authorizer")).toBeGreaterThanOrEqual(2);

    const owner = await d.oidc.ciToken(NIGHTLY, "phigate");
    const served = await d.cloud.api.send({
      method: "POST",
      path: "/v1/queries",
      headers: { authorization: `Bearer ${owner}`, "content-type": "application/json" },
      body: JSON.stringify({ sql: "SELECT mrn FROM patients ORDER BY id LIMIT 3", purpose: "edge e2e" }),
    });
    expect(served.status, served.body).toBe(200);
    expect(served.functionId).toBe("post-query");
  }, 120_000);

  it("builds an auditor's bundle as a job: 202, building, then ready, and `phigate verify-evidence` accepts it", async () => {
    const signingKey = d.cloud.stack
      .ofType("AWS::KMS::Key")
      .find((k) => k.properties.KeyUsage === "SIGN_VERIFY");
    const fingerprint = createHash("sha256")
      .update(d.cloud.kms.publicKeyDer(d.cloud.stack.getAtt(signingKey?.logicalId ?? "", "Arn")))
      .digest("hex");
    // A bundle holds what the log has sequenced; the stream sequencer links the chain a few seconds behind.
    await d.cloud.streams.drained();
    // The range ends a second before the request: let the sequencer's dates fall inside it.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const made = await requestBundle();
    expect(made.status, made.body).toBe(202);
    const accepted = JSON.parse(made.body) as {
      bundleId: string;
      status: string;
      statusUrl: string;
      location: string;
    };
    expect(accepted.status).toBe("building");
    expect(accepted.location).toBe(`s3://${evidenceBucket()}/bundles/${accepted.bundleId}/`);
    const done = await awaitBundle(d, accepted, AUDITOR);
    expect(done).toMatchObject({ status: "ready", bundleId: accepted.bundleId, keyFingerprint: fingerprint });
    expect(done.entries).toBeGreaterThan(0);
    expect(await verify(accepted.bundleId, fingerprint)).toMatchObject({ code: 0 });
  }, 120_000);

  it("ends a build whose store fails `failed`, with a reason that names nothing and no manifest", async () => {
    const restore = d.cloud.s3.failWrites(
      (key) => key.startsWith("bundles/") && key.endsWith("sessions.jsonl"),
    );
    let done: Awaited<ReturnType<typeof awaitBundle>>;
    let bundleId: string;
    try {
      const made = await requestBundle();
      expect(made.status, made.body).toBe(202);
      const accepted = JSON.parse(made.body) as { bundleId: string; statusUrl: string };
      bundleId = accepted.bundleId;
      done = await awaitBundle(d, accepted, AUDITOR);
    } finally {
      restore();
    }
    expect(done).toMatchObject({ status: "failed", reason: "build_failed" });
    expect(done.message).not.toMatch(/s3|bucket|InternalError|arn:/i);
    const files = bundleFiles(bundleId);
    expect(files.has("manifest.json")).toBe(false);
    expect(files.has("manifest.sig")).toBe(false);
  }, 120_000);

  it("made no call its caller's IAM policy refuses", () => {
    const refused = d.cloud.iam.violations.map(
      (v) => `${v.principal.split("/").pop()} ${v.action} ${v.resource} (${v.reason})`,
    );
    expect(refused).toEqual([]);
    expect(d.cloud.endpoint.rejected).toEqual([]);
  });
});
