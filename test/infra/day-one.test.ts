// What a first deploy to a HIPAA account needs from the stack (issue 15): results really deleted, a purge path, the
// signing key's policy, names that survive delete-and-recreate, bounded and PHI-free database logs, a non-pausing
// database by default, and one alarm per failure mode plus a dashboard.

import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFunctions } from "#infra/aws/functions.ts";
import { createPhigateApp } from "#infra/cdk/phigate-app.ts";
import { maxStatementTimeoutMs } from "#infra/cdk/policy-budget.ts";
import { readSettings } from "#infra/cdk/settings.ts";
import { OfflineIam } from "#test/support/aws/iam.ts";
import { S3StandIn } from "#test/support/aws/s3.ts";
import type { ServiceCall } from "#test/support/aws/service.ts";
import { ResolvedStack } from "#test/support/aws/template.ts";
import { type Resource, StackUnderTest } from "#test/support/stack.ts";

const ALL_FUNCTIONS = await loadFunctions();
const NO_BUNDLING = { "aws:cdk:bundling-stacks": [] };
const synth = new StackUnderTest({
  context: { ...NO_BUNDLING, resultRetentionDays: "30", alarmEmails: "ops@example.org" },
  nag: false,
});
const { resources } = synth;
let template: Template;
let resolved: ResolvedStack;

beforeAll(async () => {
  await synth.synthesize();
  template = synth.template;
  resolved = new ResolvedStack(template.toJSON() as never, {
    stackName: "Phigate",
    region: "eu-west-1",
    account: "123456789012",
  });
}, 180_000);

afterAll(() => synth.remove());

/** The environment variables of a function in the resolved template. */
const variablesOf = (fn: { properties: Record<string, unknown> } | undefined): Record<string, string> =>
  (fn?.properties.Environment as { Variables?: Record<string, string> } | undefined)?.Variables ?? {};

/** The environment of the function of an id. */
const envOf = (id: string): Record<string, string> =>
  variablesOf(
    resolved.ofType("AWS::Lambda::Function").find((f) => variablesOf(f).PHIGATE_FUNCTION_ID === id),
  );

const resultsBucket = () =>
  resolved.ofType("AWS::S3::Bucket").find((b) => b.logicalId.startsWith("StorageResults"));

/** A signed-and-allowed call to the S3 stand-in, without HTTP (the stand-in's logic only). */
function s3Call(method: string, url: string, body = "", headers: Record<string, string> = {}): ServiceCall {
  return {
    request: {
      method,
      url,
      headers: { "x-amz-checksum-sha256": sha256(body), ...headers },
      body: Buffer.from(body),
    },
    principal: "test",
    caller: "test",
    authorize: (action, resource) => ({ principal: "test", action, resource, allowed: true, reason: "test" }),
    allowed: () => true,
    operation: () => undefined,
  };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("base64");
}

describe("stored results", () => {
  it("are really deleted after their retention: the lifecycle expires the noncurrent version behind the marker", async () => {
    const s3 = new S3StandIn(resolved, () => new Date("2030-01-01T00:00:00Z"));
    const bucket = resolved.ref(resultsBucket()?.logicalId ?? "");
    await s3.handle(s3Call("PUT", `/${bucket}/results/2030-01-01/ses_1.json`, "{}"));
    for (const day of [31, 32, 33, 34]) s3.applyLifecycle(new Date(Date.UTC(2030, 0, 1 + day)));
    expect([...s3.versions(bucket).keys()]).toEqual([]);
  });

  it("are locked in governance mode by default (a mis-masked result can be purged by a break-glass role); compliance on request", () => {
    expect(resultsBucket()?.properties.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: "Enabled",
      Rule: { DefaultRetention: { Mode: "GOVERNANCE", Days: 30 } },
    });
    expect(readSettings((k) => ({ resultLockMode: "compliance" })[k]).resultLockMode).toBe("compliance");
    const evidence = resolved
      .ofType("AWS::S3::Bucket")
      .find((b) => b.logicalId.startsWith("StorageEvidence"));
    expect(evidence?.properties.ObjectLockConfiguration).toMatchObject({
      Rule: { DefaultRetention: { Mode: "COMPLIANCE" } },
    });
  });
});

describe("the evidence signing key", () => {
  it("signs only for the evidence functions' roles: an account principal allowed kms:Sign by IAM is still refused", () => {
    const iam = new OfflineIam(resolved);
    const key = resolved.ofType("AWS::KMS::Key").find((k) => k.properties.KeyUsage === "SIGN_VERIFY");
    const keyArn = resolved.getAtt(key?.logicalId ?? "", "Arn");
    const intruder = "arn:aws:iam::123456789012:role/some-admin";
    iam.addIdentity(intruder, [{ Effect: "Allow", Action: "kms:*", Resource: "*" }]);
    expect(iam.check({ principal: intruder, action: "kms:Sign", resource: keyArn }).allowed).toBe(false);
    expect(iam.check({ principal: intruder, action: "kms:GetPublicKey", resource: keyArn }).allowed).toBe(
      true,
    );
    const signers = ALL_FUNCTIONS.filter((d) => d.id === "nightly-evidence" || d.id === "evidence-build");
    for (const signer of signers) {
      const fn = resolved
        .ofType("AWS::Lambda::Function")
        .find(
          (f) =>
            (f.properties.Environment as { Variables: Record<string, string> }).Variables
              .PHIGATE_FUNCTION_ID === signer.id,
        );
      expect(
        iam.check({ principal: String(fn?.properties.Role), action: "kms:Sign", resource: keyArn }).allowed,
        signer.id,
      ).toBe(true);
    }
  });
});

describe("names that survive delete-and-recreate", () => {
  it("gives the state machines, their log groups and the cluster a per-deployment suffix (from the stack id)", () => {
    const machines = resources("AWS::StepFunctions::StateMachine");
    expect(machines.length).toBe(2);
    for (const [, machine] of machines) {
      expect(JSON.stringify(machine.Properties.StateMachineName)).toContain("AWS::StackId");
    }
    const groups = resources("AWS::Logs::LogGroup").map(([, g]) =>
      JSON.stringify(g.Properties.LogGroupName ?? ""),
    );
    expect(groups.filter((g) => g.includes("vendedlogs/states"))).toEqual([
      expect.stringContaining("AWS::StackId"),
      expect.stringContaining("AWS::StackId"),
    ]);
    const [, cluster] = resources("AWS::RDS::DBCluster")[0] ?? [];
    expect(JSON.stringify(cluster?.Properties.DBClusterIdentifier)).toContain("AWS::StackId");
  });
});

describe("the database", () => {
  it("exports PostgreSQL logs to a KMS-encrypted group kept a month, without values, statement text or parameters", () => {
    const [id, group] =
      resources("AWS::Logs::LogGroup").find(([, g]) =>
        JSON.stringify(g.Properties.LogGroupName ?? "").includes("/postgresql"),
      ) ?? [];
    expect(group?.Properties).toMatchObject({ RetentionInDays: 30, KmsKeyId: expect.anything() });
    const [, cluster] = resources("AWS::RDS::DBCluster")[0] ?? [];
    expect(cluster?.DependsOn).toContain(id);
    // The cluster's own log carries no error message (it can echo a value), statement text or parameter.
    const groups = resources("AWS::RDS::DBClusterParameterGroup");
    expect(groups.map(([, g]) => g.Properties.Parameters)).toEqual([
      {
        log_min_messages: "fatal",
        log_min_error_statement: "panic",
        log_error_verbosity: "terse",
        log_statement: "none",
        log_min_duration_statement: "-1",
        log_parameter_max_length: "0",
        log_parameter_max_length_on_error: "0",
      },
    ]);
  });

  it("does not pause by default (0.5–4 ACU); auto-pause is opt-in with its idle seconds", () => {
    template.hasResourceProperties("AWS::RDS::DBCluster", {
      ServerlessV2ScalingConfiguration: {
        MinCapacity: 0.5,
        MaxCapacity: 4,
        SecondsUntilAutoPause: Match.absent(),
      },
    });
    const get = (ctx: Record<string, string>) => (k: string) => ctx[k];
    expect(() => readSettings(get({ databaseMinCapacity: "0" }))).toThrow(/databaseAutoPauseSeconds/);
    expect(
      readSettings(get({ databaseMinCapacity: "0", databaseAutoPauseSeconds: "600" }))
        .databaseAutoPauseSeconds,
    ).toBe(600);
  });
});

describe("the read-only database role", () => {
  it("is what every function that runs SQL signs in with, created and verified before they exist", () => {
    const [reader] = resolved.ofType("Custom::PhigateReaderRole");
    const master = resolved.ofType("AWS::SecretsManager::SecretTargetAttachment")[0]?.properties.SecretId;
    expect(reader?.properties).toMatchObject({
      Database: "ehr",
      Schemas: "public",
      MasterSecretArn: master,
      StatementTimeoutMs: "45000",
    });
    for (const id of ["post-query", "task-execute-approved"]) {
      expect(envOf(id).PHIGATE_DB_SECRET_ARN).toBe(reader?.properties.ReaderSecretArn);
      expect(envOf(id).PHIGATE_DB_SECRET_ARN).not.toBe(master);
      const [logicalId] =
        resources("AWS::Lambda::Function").find(([, f]) =>
          JSON.stringify(f.Properties.Environment).includes(`"PHIGATE_FUNCTION_ID":"${id}"`),
        ) ?? [];
      const fn = template.toJSON().Resources[logicalId ?? ""] as { DependsOn?: string[] };
      expect(fn.DependsOn?.some((d) => d === reader?.logicalId)).toBe(true);
    }
  });

  it("is only verified, never created, on an existing cluster (its secret is the operator's read-only role)", async () => {
    const existing = new StackUnderTest({
      nag: false,
      context: {
        ...NO_BUNDLING,
        existingClusterArn: "arn:aws:rds:eu-west-1:123456789012:cluster:ehr",
        existingSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ehr-reader-AbCdEf",
      },
    });
    await existing.synthesize();
    try {
      const [[, reader] = []] = existing.resources("Custom::PhigateReaderRole");
      expect(reader?.Properties.MasterSecretArn).toBeUndefined();
      expect(reader?.Properties.ReaderSecretArn).toBe(
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ehr-reader-AbCdEf",
      );
      expect(existing.resources("AWS::RDS::DBCluster")).toEqual([]);
    } finally {
      existing.remove();
    }
  });
});

describe("time budgets", () => {
  it("refuses at synth a policy whose statement timeout cannot fit the 29 s query route", async () => {
    const dir = mkdtempSync(join(tmpdir(), "phigate-budget-"));
    try {
      const demo = readFileSync("policy/demo.yaml", "utf8");
      expect(demo).toContain("statementTimeoutMs: 10000");
      const policyFile = join(dir, "policy.yaml");
      writeFileSync(policyFile, demo.replace("statementTimeoutMs: 10000", "statementTimeoutMs: 60000"));
      const outdir = join(dir, "cdk.out");
      await expect(
        createPhigateApp({ outdir, nag: false, context: { ...NO_BUNDLING, policyFile } }),
      ).rejects.toThrow(/statementTimeoutMs over 25000 ms .*principal \S+ asks 60000/);
      expect(maxStatementTimeoutMs(ALL_FUNCTIONS)).toBe(25_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("sessions a timed-out function left running", () => {
  it("are listed through a sparse keys-only index the keeper alone may query, after its orphan age", () => {
    const sessions = resolved
      .ofType("AWS::DynamoDB::Table")
      .find((t) => t.logicalId.startsWith("StorageSessions"));
    expect(sessions?.properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: "running-sessions",
        KeySchema: [
          { AttributeName: "runningPk", KeyType: "HASH" },
          { AttributeName: "runningAt", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "KEYS_ONLY" },
      },
    ]);
    const iam = new OfflineIam(resolved);
    const index = `${resolved.getAtt(sessions?.logicalId ?? "", "Arn")}/index/running-sessions`;
    const statementRunners = ALL_FUNCTIONS.filter(
      (f) => f.id === "post-query" || f.id === "task-execute-approved",
    );
    const longest = Math.max(...statementRunners.map((f) => f.timeoutSeconds));
    for (const fn of resolved.ofType("AWS::Lambda::Function")) {
      const env = variablesOf(fn);
      const keeper = env.PHIGATE_FUNCTION_ID === "approval-keeper";
      const allowed = iam.check({
        principal: String(fn.properties.Role),
        action: "dynamodb:Query",
        resource: index,
      });
      expect(allowed.allowed, env.PHIGATE_FUNCTION_ID).toBe(keeper);
      if (keeper) expect(Number(env.PHIGATE_ORPHAN_AFTER_SECONDS)).toBeGreaterThan(longest);
      else expect(env.PHIGATE_ORPHAN_AFTER_SECONDS).toBeUndefined();
    }
  });
});

describe("the approval workflow", () => {
  it("retries AwaitDecision's worker on Lambda throttling and service errors", () => {
    const [, machine] = resources("AWS::StepFunctions::StateMachine")[0] ?? [];
    const definition = JSON.parse(String(resolved.resolve(machine?.Properties.DefinitionString)));
    expect(definition.States.AwaitDecision.Retry[0].ErrorEquals).toContain("Lambda.TooManyRequestsException");
  });
});

/** The alarm of a stable name (construct id under Operations). */
function alarm(name: string): Resource {
  const found = resources("AWS::CloudWatch::Alarm").find(([id]) =>
    id.startsWith(`Operations${name.replace(/[^A-Za-z0-9]/g, "")}`),
  );
  if (found === undefined) throw new Error(`no alarm ${name}`);
  return found[1];
}

const notifiesOperators = (r: Resource) => {
  const [topic] = resources("AWS::SNS::Topic").find(([id]) => id.startsWith("OperationsTopic")) ?? [];
  expect(JSON.stringify(r.Properties.AlarmActions)).toContain(String(topic));
};

describe("alarms", () => {
  const metricOf = (r: Resource) => ({
    namespace: r.Properties.Namespace,
    metric: r.Properties.MetricName,
    dimensions: (r.Properties.Dimensions as { Name: string }[] | undefined)?.map((d) => d.Name),
  });

  it("API 5xx", () => {
    const a = alarm("Api5xx");
    expect(metricOf(a)).toEqual({ namespace: "AWS/ApiGateway", metric: "5xx", dimensions: ["ApiId"] });
    notifiesOperators(a);
  });

  it.each(ALL_FUNCTIONS.map((d) => [d.id, d.timeoutSeconds] as const))(
    "function %s: errors, throttles, near-timeout duration",
    (id, timeout) => {
      expect(metricOf(alarm(`Errors-${id}`))).toEqual({
        namespace: "AWS/Lambda",
        metric: "Errors",
        dimensions: ["FunctionName"],
      });
      expect(metricOf(alarm(`Throttles-${id}`))).toEqual({
        namespace: "AWS/Lambda",
        metric: "Throttles",
        dimensions: ["FunctionName"],
      });
      const near = alarm(`NearTimeout-${id}`);
      expect(metricOf(near)).toEqual({
        namespace: "AWS/Lambda",
        metric: "Duration",
        dimensions: ["FunctionName"],
      });
      expect(near.Properties.Threshold).toBe(timeout * 800);
      notifiesOperators(near);
    },
  );

  it("failed and timed-out approval executions", () => {
    expect(metricOf(alarm("ApprovalExecutionsFailed"))).toEqual({
      namespace: "AWS/States",
      metric: "ExecutionsFailed",
      dimensions: ["StateMachineArn"],
    });
    expect(metricOf(alarm("ApprovalExecutionsTimedOut"))).toEqual({
      namespace: "AWS/States",
      metric: "ExecutionsTimedOut",
      dimensions: ["StateMachineArn"],
    });
  });

  it("evidence failures and a missing nightly bundle (no data counts as missing)", () => {
    expect(metricOf(alarm("EvidenceBundleFailures"))).toEqual({
      namespace: "phigate",
      metric: "EvidenceBundleFailures",
      dimensions: ["service"],
    });
    const missing = alarm("NightlyBundleMissing");
    expect(metricOf(missing)).toEqual({
      namespace: "phigate",
      metric: "EvidenceBundles",
      dimensions: ["service"],
    });
    expect(missing.Properties).toMatchObject({
      ComparisonOperator: "LessThanThreshold",
      TreatMissingData: "breaching",
      Period: 86_400,
    });
  });

  it("DynamoDB throttles on both tables", () => {
    for (const table of ["Sessions", "Approvals"]) {
      const metrics = alarm(`DynamoThrottles-${table}`).Properties.Metrics as {
        MetricStat?: { Metric: { MetricName: string; Namespace: string } };
      }[];
      expect(
        metrics.flatMap((m) => (m.MetricStat === undefined ? [] : [m.MetricStat.Metric.MetricName])).sort(),
      ).toEqual(["ReadThrottleEvents", "WriteThrottleEvents"]);
    }
  });

  it("Aurora at its maximum ACU for 15 minutes", () => {
    const a = alarm("AuroraAtMaxCapacity");
    expect(metricOf(a)).toEqual({
      namespace: "AWS/RDS",
      metric: "ServerlessDatabaseCapacity",
      dimensions: ["DBClusterIdentifier"],
    });
    expect(a.Properties).toMatchObject({ Threshold: 4, EvaluationPeriods: 3 });
  });

  it("SNS delivery failures of approver notifications", () => {
    expect(metricOf(alarm("ApproverNotificationsFailed"))).toEqual({
      namespace: "AWS/SNS",
      metric: "NumberOfNotificationsFailed",
      dimensions: ["TopicName"],
    });
  });

  it("orphaned sessions the keeper failed", () => {
    expect(metricOf(alarm("OrphanedSessions"))).toEqual({
      namespace: "phigate",
      metric: "OrphanedSessions",
      dimensions: ["service"],
    });
  });

  it("notify the operators' topic (KMS, TLS-only, subscribed addresses) and sit on one dashboard", () => {
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.org",
    });
    expect(resources("AWS::CloudWatch::Dashboard")).toHaveLength(1);
  });
});
