// Background functions: the nightly range, task and job composition from their declarations with telemetry, the approver client secret.

import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient, GetItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readClientSecret } from "#infra/aws/adapters/client-secret.ts";
import { serveJob, serveTask } from "#infra/aws/compose-jobs.ts";
import type { JobTelemetry } from "#infra/aws/job-metrics.ts";
import { workflowPart } from "#infra/aws/parts/workflow.ts";
import { writeBundledPolicy } from "#infra/cdk/parsed-policy.ts";
import { closeDeniedTask } from "#shared/approval/tasks/close-approval.ts";
import { planWaitTask } from "#shared/approval/tasks/plan-wait.ts";
import { job as keeperJob } from "#shared/jobs/approval-keeper.ts";
import { nightlyRange } from "#shared/jobs/nightly-evidence.ts";
import { silentLogger } from "#shared/log.ts";
import { clientSecretBasic } from "#shared/web/oidc-client.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const credentials = { accessKeyId: "AKIDTESTTESTTEST", secretAccessKey: "test-secret-not-real" };
const dynamo = mockClient(DynamoDBClient);
const secrets = mockClient(SecretsManagerClient);
let bundleDir: string;
let digest: string;

function recorder(): JobTelemetry & { counts: Record<string, number>; flushes: number; wrapped: number } {
  const t = {
    counts: {} as Record<string, number>,
    flushes: 0,
    wrapped: 0,
    count(name: string, value = 1) {
      t.counts[name] = (t.counts[name] ?? 0) + value;
    },
    flush() {
      t.flushes++;
    },
    instrument<T>(client: T): T {
      t.wrapped++;
      return client;
    },
  };
  return t;
}

const env = (functionId: string) => ({
  PHIGATE_FUNCTION_ID: functionId,
  PHIGATE_SESSIONS_TABLE: "sessions",
  PHIGATE_RESULTS_BUCKET: "results",
  PHIGATE_DATA_KEY_ARN: "arn:aws:kms:eu-west-1:111111111111:key/0000",
  PHIGATE_ISSUERS: JSON.stringify([
    { issuer: "https://ci.test/", jwksUri: "https://ci.test/jwks", audience: ["x"] },
  ]),
  PHIGATE_POLICY_DIGEST: digest,
  PHIGATE_APPROVALS_TABLE: "approvals",
});

beforeAll(async () => {
  bundleDir = await mkdtemp(join(tmpdir(), "phigate-jobs-"));
  writeBundledPolicy(join(ROOT, "policy/demo.yaml"), bundleDir);
  digest = createHash("sha256")
    .update(await readFile(join(bundleDir, "policy.yaml")))
    .digest("hex");
});
afterAll(async () => {
  await rm(bundleDir, { recursive: true, force: true });
});
beforeEach(() => {
  dynamo.reset();
  secrets.reset();
});

describe("nightlyRange", () => {
  it("covers the UTC day before the scheduled time, or the day asked for", () => {
    expect(nightlyRange({ time: "2026-11-29T00:30:00Z" }, new Date())).toEqual({
      from: new Date("2026-11-28T00:00:00.000Z"),
      to: new Date("2026-11-29T00:00:00.000Z"),
    });
    expect(nightlyRange({}, new Date("2026-03-01T23:59:59Z"))).toEqual({
      from: new Date("2026-02-28T00:00:00.000Z"),
      to: new Date("2026-03-01T00:00:00.000Z"),
    });
    expect(nightlyRange({ day: "2026-11-20" }, new Date())).toEqual({
      from: new Date("2026-11-20T00:00:00.000Z"),
      to: new Date("2026-11-21T00:00:00.000Z"),
    });
  });
});

describe("serveTask and serveJob", () => {
  it("composes a task from its own capabilities, counts outcomes and flushes after each invocation", async () => {
    const telemetry = recorder();
    const handler = await serveTask(
      planWaitTask,
      {},
      {
        env: env("task-plan-wait"),
        bundleDir,
        logger: silentLogger,
        telemetry,
        clients: { dynamo: new DynamoDBClient({ region: "eu-west-1", credentials }) },
      },
    );
    dynamo.on(GetItemCommand).resolves({});
    await expect(
      handler({ approvalId: "apr_0000000000000000000000000A", sessionId: "ses_00000000000000000000000000" }),
    ).rejects.toMatchObject({ code: "not_found" });
    expect(telemetry.counts).toEqual({ TaskFailed: 1 });
    expect(telemetry.flushes).toBe(1);
    expect(telemetry.wrapped).toBe(1);
    expect(dynamo.commandCalls(GetItemCommand)[0]?.args[0].input.TableName).toBe("approvals");
  });

  it("refuses a task entry configured as another function", async () => {
    await expect(
      serveTask(
        closeDeniedTask,
        {},
        {
          env: env("task-plan-wait"),
          bundleDir,
          telemetry: recorder(),
        },
      ),
    ).rejects.toThrow(/configured for task-plan-wait/);
  });

  it("sweeps with the keeper and counts heartbeats, re-sent decisions and orphaned sessions", async () => {
    const telemetry = recorder();
    dynamo.on(QueryCommand).resolves({ Items: [] });
    const keeper = await serveJob(
      keeperJob,
      { workflow: workflowPart },
      {
        env: env("approval-keeper"),
        bundleDir,
        logger: silentLogger,
        telemetry,
        clients: {
          dynamo: new DynamoDBClient({ region: "eu-west-1", credentials }),
          s3: new S3Client({ region: "eu-west-1", credentials }),
          sfn: new SFNClient({ region: "eu-west-1", credentials }),
        },
      },
    );
    expect(await keeper({})).toEqual({ heartbeats: 0, resent: 0, orphans: 0 });
    expect(telemetry.counts).toEqual({ Heartbeats: 0, DecisionsResent: 0, OrphanedSessions: 0 });
    expect(telemetry.flushes).toBe(1);
    expect(dynamo.commandCalls(QueryCommand).map((c) => c.args[0].input.IndexName)).toEqual([
      "open-approvals",
      "running-sessions",
    ]);
  });
});

describe("approver client secret", () => {
  const client = () => new SecretsManagerClient({ region: "eu-west-1", credentials });

  it("reads a plain or JSON secret and refuses an empty or malformed one", async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: "s3cr3t" })
      .resolvesOnce({ SecretString: '{"clientSecret":"from-json"}' })
      .resolvesOnce({ SecretString: '{"other":"x"}' })
      .resolvesOnce({});
    expect(await readClientSecret(client(), "arn:x")).toBe("s3cr3t");
    expect(await readClientSecret(client(), "arn:x")).toBe("from-json");
    await expect(readClientSecret(client(), "arn:x")).rejects.toMatchObject({ code: "signin_unavailable" });
    await expect(readClientSecret(client(), "arn:x")).rejects.toMatchObject({ code: "signin_unavailable" });
  });

  it("authenticates to the token endpoint with client_secret_basic (form-encoded id and secret)", () => {
    expect(clientSecretBasic({ clientId: "phigate approvals", clientSecret: "a:b/c" })).toBe(
      `Basic ${Buffer.from("phigate+approvals:a%3Ab%2Fc").toString("base64")}`,
    );
  });
});
