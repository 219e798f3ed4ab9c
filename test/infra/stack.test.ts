// The stack, synthesized once with real (local esbuild) bundling and the rule packs on: routes, functions, storage, IAM.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPEN_INDEX } from "#infra/aws/adapters/approval-item.ts";
import { EDGE_TIMEOUT_MS } from "#infra/aws/adapters/invocation-deadline.ts";
import { loadFunctions } from "#infra/aws/functions.ts";
import { UNBUNDLED_CREDENTIAL_PROVIDERS } from "#infra/cdk/constructs/gateway-function.ts";
import type { PhigateStack } from "#infra/cdk/stack.ts";
import { TASK_NAMES } from "#shared/approval/workflow-description.ts";
import { routeMethods } from "#shared/http/route.ts";
import { parsePolicy } from "#shared/policy/load.ts";
import { policyFromParsedCopy } from "#shared/policy/parsed-copy.ts";
import { RESULTS_PREFIX } from "#shared/sessions/run-statement.ts";
import { APPROVER_CONTEXT, actionsOf, type Resource, StackUnderTest } from "#test/support/stack.ts";

const CONTEXT = {
  issuer: "https://token.actions.githubusercontent.com",
  audience: "phigate-test",
  resultRetentionDays: "7",
  evidenceRetentionDays: "400",
  approverEmails: "alice@example.org, bob@example.org",
  ...APPROVER_CONTEXT,
};

const ALL_FUNCTIONS = await loadFunctions();
const ROUTES = ALL_FUNCTIONS.flatMap((f) => (f.kind === "route" ? [f.route] : []));
const synth = new StackUnderTest({ context: CONTEXT });
/** A message of the `yaml` package's parser: in a bundle exactly when the package is. */
const YAML_PARSER_MESSAGE = "Implicit map keys need to be";
/** The functions that parse archived policy texts (evidence bundles), so bundle the YAML parser. */
const READS_ARCHIVED_POLICIES = new Set([
  "get-evidence-bundle",
  "post-evidence-bundle",
  "evidence-build",
  "nightly-evidence",
]);
const { resources, logicalId, statementsOf } = synth;
let stack: PhigateStack;
let template: Template;
let assemblyDir: string;

beforeAll(async () => {
  await synth.synthesize();
  ({ stack, template, assemblyDir } = synth);
}, 180_000);

afterAll(() => synth.remove());

describe("HTTP API", () => {
  it("has a JWT authorizer for the issuer and audience from context, with no scopes", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerType: "JWT",
      IdentitySource: ["$request.header.Authorization"],
      JwtConfiguration: { Issuer: CONTEXT.issuer, Audience: [CONTEXT.audience] },
    });
  });

  it("has exactly the routes of the route table, each behind the authorizer its auth says, each with its function", () => {
    const routes = resources("AWS::ApiGatewayV2::Route");
    expect(routes.map(([, r]) => r.Properties.RouteKey).sort()).toEqual(
      ROUTES.flatMap((r) => routeMethods(r).map((method) => `${method} ${r.path}`)).sort(),
    );
    const integrations = template.findResources("AWS::ApiGatewayV2::Integration");
    for (const route of ROUTES.flatMap((r) => routeMethods(r).map((method) => ({ ...r, method })))) {
      const [, resource] =
        routes.find(([, r]) => r.Properties.RouteKey === `${route.method} ${route.path}`) ?? [];
      expect(resource?.Properties.AuthorizationType).toBe(route.auth === "jwt" ? "JWT" : "NONE");
      expect(resource?.Properties.AuthorizationScopes).toBeUndefined();
      const target = JSON.stringify(resource?.Properties.Target);
      const integrationId = /integrations\/","?\{"Ref":"([^"]+)"/.exec(target)?.[1] ?? "";
      const integration = integrations[integrationId] as Resource | undefined;
      const fn = stack.functions.get(route.id);
      expect(JSON.stringify(integration?.Properties.IntegrationUri)).toContain(
        logicalId(fn?.function as never),
      );
      // The functions' edge deadline counts on it (infra/aws/adapters/invocation-deadline.ts).
      expect(integration?.Properties.TimeoutInMillis).toBe(EDGE_TIMEOUT_MS);
    }
  });

  it("throttles the default stage and writes KMS-encrypted access logs", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      AccessLogSettings: { DestinationArn: { "Fn::GetAtt": [logicalId(stack.api.accessLogs), "Arn"] } },
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", {
      KmsKeyId: { "Fn::GetAtt": [logicalId(stack.keys.logs), "Arn"] },
    });
    for (const [, group] of resources("AWS::Logs::LogGroup")) expect(group.Properties.KmsKeyId).toBeDefined();
  });
});

describe("functions", () => {
  it("has one arm64 Node function per route, workflow task, schedule and stream consumer, traced, with its environment", () => {
    // Besides the gateway's functions, only the read-only role's custom resource (deploy time, no route).
    const functions = resources("AWS::Lambda::Function");
    expect(functions).toHaveLength(ALL_FUNCTIONS.length + 1);
    const gateway = new Set([...stack.functions.values()].map((f) => logicalId(f.function as never)));
    expect(functions.filter(([id]) => !gateway.has(id)).map(([id]) => id)).toEqual([
      logicalId(stack.readerRole.function as never),
    ]);
    // The jobs: the keeper and the nightly bundle (scheduled), the evidence build (requested); the log sequencer.
    expect(ALL_FUNCTIONS.length).toBe(ROUTES.length + TASK_NAMES.length + 4);
    for (const definition of ALL_FUNCTIONS) {
      const fn = stack.functions.get(definition.id);
      const resource = template.findResources("AWS::Lambda::Function")[
        logicalId(fn?.function as never)
      ] as Resource;
      expect(resource.Properties).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        Handler: "index.handler",
        ReservedConcurrentExecutions:
          definition.kind === "stream"
            ? 1
            : definition.kind !== "schedule"
              ? 10
              : definition.job.schedule.kind === "requested"
                ? definition.job.schedule.concurrency
                : 1,
        Timeout: definition.timeoutSeconds,
        TracingConfig: { Mode: "Active" },
      });
      const variables = (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables.PHIGATE_FUNCTION_ID).toBe(definition.id);
      expect(variables.PHIGATE_POLICY_FILE).toBe("policy.yaml");
      expect(variables.PHIGATE_POLICY_DIGEST).toMatch(/^[0-9a-f]{64}$/);
      const ci = {
        issuer: CONTEXT.issuer,
        jwksUri: `${CONTEXT.issuer}/.well-known/jwks`,
        audience: [CONTEXT.audience],
        groupsClaim: "groups",
      };
      const approver = {
        issuer: CONTEXT.approverIssuer,
        jwksUri: `${CONTEXT.approverIssuer}/.well-known/jwks.json`,
        audience: [CONTEXT.approverClientId],
        groupsClaim: "groups",
      };
      expect(JSON.parse(String(variables.PHIGATE_ISSUERS))).toEqual(
        definition.id === "approval-sign-in" ? [ci, approver] : [ci],
      );
      const can = definition.capabilities;
      expect("PHIGATE_DB_CLUSTER_ARN" in variables).toBe(can.database);
      expect("PHIGATE_KEYS_SECRET_ARN" in variables).toBe(can.keys);
      expect("PHIGATE_APPROVALS_TABLE" in variables).toBe(can.approvals !== "none");
      expect("PHIGATE_STATE_MACHINE_ARN" in variables).toBe(can.workflow === "start");
      expect("PHIGATE_APPROVERS_TOPIC_ARN" in variables).toBe(can.notify);
      expect("PHIGATE_SIGNING_KEY_ARN" in variables).toBe(can.evidence || can.log !== "none");
      expect("PHIGATE_PUBLIC_URL" in variables).toBe(can.publicUrl);
      expect("PHIGATE_APPROVER_OIDC" in variables).toBe(can.signIn !== "none");
      expect(variables.PHIGATE_APPROVER_CLIENT_SECRET_ARN).toBe(
        can.signIn === "exchange" ? CONTEXT.approverClientSecretArn : undefined,
      );
      if (can.signIn !== "none") {
        expect(JSON.parse(String(variables.PHIGATE_APPROVER_OIDC))).toEqual({
          issuer: CONTEXT.approverIssuer,
          authorizationEndpoint: CONTEXT.approverAuthorizationEndpoint,
          tokenEndpoint: CONTEXT.approverTokenEndpoint,
          clientId: CONTEXT.approverClientId,
        });
      }
    }
  });

  it("ships the parser's WASM and the policy next to the bundles that need them", () => {
    for (const route of ALL_FUNCTIONS) {
      const fn = stack.functions.get(route.id);
      const resource = template.findResources("AWS::Lambda::Function")[
        logicalId(fn?.function as never)
      ] as Resource;
      const key = String((resource.Properties.Code as { S3Key: string }).S3Key).replace(/\.zip$/, "");
      const dir = join(assemblyDir, `asset.${key}`);
      expect(existsSync(join(dir, "index.mjs"))).toBe(true);
      expect(existsSync(join(dir, "policy.yaml"))).toBe(true);
      expect(existsSync(join(dir, "libpg-query.wasm"))).toBe(route.needsParser);
      const bundle = readFileSync(join(dir, "index.mjs"), "utf8");
      expect(bundle.startsWith("import { createRequire")).toBe(true);
      // The start reads the policy's parsed copy, made at synth from exactly the bundled text, so the YAML parser is
      // left out of every bundle except those that read archived policies (the evidence bundles').
      const text = readFileSync(join(dir, "policy.yaml"), "utf8");
      const copy = policyFromParsedCopy(
        text,
        readFileSync(join(dir, "policy.yaml.json"), "utf8"),
        "policy.yaml",
      );
      expect(copy.document).toEqual(parsePolicy(text, "policy.yaml").document);
      expect(bundle.includes(YAML_PARSER_MESSAGE), route.id).toBe(READS_ARCHIVED_POLICIES.has(route.id));
      // The SDK's fallback credential providers stay imports the default chain makes only without credentials.
      if (bundle.includes("@aws-sdk/credential-provider-node")) {
        for (const provider of UNBUNDLED_CREDENTIAL_PROVIDERS)
          expect(bundle).toContain(`import("${provider}")`);
      }
    }
  });

  it("gives each function only its own role and one customer-managed policy (no inline, no AWS-managed)", () => {
    for (const definition of ALL_FUNCTIONS) {
      const fn = stack.functions.get(definition.id);
      const role = template.findResources("AWS::IAM::Role")[logicalId(fn?.role as never)] as Resource;
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.Policies).toBeUndefined();
    }
    expect(resources("AWS::IAM::Policy")).toEqual([]);
  });
});

describe("least privilege", () => {
  it("never grants a wildcard action, and a wildcard resource only to the two X-Ray actions", () => {
    for (const definition of ALL_FUNCTIONS) {
      for (const statement of statementsOf(definition.id)) {
        for (const action of actionsOf(statement)) expect(action).not.toContain("*");
        if (statement.Resource === "*") {
          expect(statement.Sid).toBe("Tracing");
          expect(actionsOf(statement)).toEqual(["xray:PutTelemetryRecords", "xray:PutTraceSegments"]);
        }
      }
    }
  });

  it("lets get-session read session items and result objects (listing: a removed result is a 404), and nothing else", () => {
    const statements = statementsOf("get-session");
    expect(statements.map((s) => s.Sid).sort()).toEqual([
      "DataKey",
      "OwnLogGroup",
      "ResultListing",
      "ResultObjects",
      "SessionTable",
      "Tracing",
    ]);
    const table = statements.find((s) => s.Sid === "SessionTable");
    expect(actionsOf(table)).toEqual(["dynamodb:GetItem"]);
    // A session's record is its latest entry item.
    expect(table?.Condition).toEqual({
      "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["session#*", "entry#*"] },
    });
    expect(table?.Resource).toEqual({ "Fn::GetAtt": [logicalId(stack.storage.sessions), "Arn"] });
    const objects = statements.find((s) => s.Sid === "ResultObjects");
    expect(actionsOf(objects)).toEqual(["s3:GetObject"]);
    expect(JSON.stringify(objects?.Resource)).toContain(`/${RESULTS_PREFIX}*`);
    const listing = statements.find((s) => s.Sid === "ResultListing");
    expect(actionsOf(listing)).toEqual(["s3:ListBucket"]);
    expect(listing?.Resource).toEqual({ "Fn::GetAtt": [logicalId(stack.storage.results), "Arn"] });
    expect(actionsOf(statements.find((s) => s.Sid === "DataKey"))).toEqual([
      "kms:Decrypt",
      "kms:DescribeKey",
    ]);
  });

  it("lets the log sequencer write the chain and entry markers, read its stream, sign, and store checkpoints only", () => {
    const statements = statementsOf("log-sequencer");
    const bySid = new Map(statements.map((s) => [s.Sid, s]));
    expect([...bySid.keys()].sort()).toEqual([
      "DataKey",
      "LogCheckpoints",
      "LogGapScan",
      "LogKey",
      "LogSequencer",
      "LogSequencerChain",
      "OwnLogGroup",
      "SessionStream",
      "Tracing",
    ]);
    expect(bySid.get("LogSequencer")?.Condition).toEqual({
      "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["chain#*", "entry#*"] },
    });
    expect(actionsOf(bySid.get("LogKey"))).toEqual(["kms:GetPublicKey", "kms:Sign"]);
    expect(JSON.stringify(bySid.get("LogCheckpoints")?.Resource)).toContain("/log/checkpoints/*");
    expect(bySid.get("SessionStream")?.Resource).toEqual({
      "Fn::GetAtt": [logicalId(stack.storage.sessions), "StreamArn"],
    });
    const [mapping] = resources("AWS::Lambda::EventSourceMapping");
    expect(mapping?.[1].Properties).toMatchObject({
      BatchSize: 90,
      MaximumBatchingWindowInSeconds: 1,
      ParallelizationFactor: 1,
      StartingPosition: "TRIM_HORIZON",
    });
    expect(JSON.stringify(mapping?.[1].Properties.FilterCriteria)).toContain("entry#");
  });

  it("lets post-query use the Data API on the cluster, read its secrets, write sessions and put results", () => {
    const statements = statementsOf("post-query");
    const bySid = new Map(statements.map((s) => [s.Sid, s]));
    expect(actionsOf(bySid.get("DataApi"))).toEqual([
      "rds-data:BeginTransaction",
      "rds-data:ExecuteStatement",
      "rds-data:RollbackTransaction",
    ]);
    expect(bySid.get("DataApi")?.Resource).toEqual({
      "Fn::Join": [
        "",
        expect.arrayContaining([":cluster:", { Ref: logicalId(stack.database.cluster as never) }]),
      ],
    });
    expect(actionsOf(bySid.get("DatabaseSecret"))).toEqual(["secretsmanager:GetSecretValue"]);
    expect(actionsOf(bySid.get("KeyMaterial"))).toEqual(["secretsmanager:GetSecretValue"]);
    expect(bySid.get("KeyMaterial")?.Resource).toEqual({ Ref: logicalId(stack.storage.keyMaterial) });
    expect(actionsOf(bySid.get("SessionTable"))).toEqual([
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ]);
    expect(bySid.get("SessionTable")?.Condition).toEqual({
      "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["session#*", "entry#*", "idem#*"] },
    });
    // It reads the chain (the head, the day's index) but never writes it: only the log sequencer does.
    expect(actionsOf(bySid.get("ChainHead"))).toEqual(["dynamodb:GetItem"]);
    expect(actionsOf(bySid.get("ResultObjects"))).toEqual([
      "s3:AbortMultipartUpload",
      "s3:GetObject",
      "s3:PutObject",
    ]);
    expect(actionsOf(bySid.get("DataKey"))).toEqual([
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey",
    ]);
  });
});

describe("storage", () => {
  it("has on-demand, PITR, KMS-encrypted, deletion-protected tables; TTL on expiresAt / purgeAt", () => {
    const tables = resources("AWS::DynamoDB::Table");
    expect(tables).toHaveLength(2);
    for (const [, table] of tables) {
      expect(table.Properties).toMatchObject({
        BillingMode: "PAY_PER_REQUEST",
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: {
          SSEEnabled: true,
          SSEType: "KMS",
          KMSMasterKeyId: { "Fn::GetAtt": [logicalId(stack.keys.data), "Arn"] },
        },
        DeletionProtectionEnabled: true,
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      });
    }
    const byId = template.findResources("AWS::DynamoDB::Table");
    expect((byId[logicalId(stack.storage.sessions)] as Resource).Properties.TimeToLiveSpecification).toEqual({
      AttributeName: "expiresAt",
      Enabled: true,
    });
    const approvals = (byId[logicalId(stack.storage.approvals)] as Resource).Properties;
    expect(approvals.TimeToLiveSpecification).toEqual({ AttributeName: "purgeAt", Enabled: true });
    expect(approvals.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: OPEN_INDEX,
        KeySchema: [
          { AttributeName: "openPk", KeyType: "HASH" },
          { AttributeName: "createdAt", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
    ]);
  });

  it("locks results (governance) and evidence (compliance) for the retention from context, encrypted with the data key", () => {
    const expectations: [PhigateStack["storage"]["results"], number, string][] = [
      [stack.storage.results, 7, "GOVERNANCE"],
      [stack.storage.evidence, 400, "COMPLIANCE"],
    ];
    for (const [bucket, days, mode] of expectations) {
      const resource = template.findResources("AWS::S3::Bucket")[logicalId(bucket)] as Resource;
      expect(resource.Properties).toMatchObject({
        ObjectLockEnabled: true,
        ObjectLockConfiguration: {
          ObjectLockEnabled: "Enabled",
          Rule: { DefaultRetention: { Mode: mode, Days: days } },
        },
        VersioningConfiguration: { Status: "Enabled" },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: "aws:kms",
                KMSMasterKeyID: { "Fn::GetAtt": [logicalId(stack.keys.data), "Arn"] },
              },
            },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LoggingConfiguration: { DestinationBucketName: { Ref: logicalId(stack.storage.accessLogs) } },
      });
    }
  });

  it("logs into a separate, unlocked bucket and denies non-TLS access on every bucket", () => {
    const logs = template.findResources("AWS::S3::Bucket")[logicalId(stack.storage.accessLogs)] as Resource;
    expect(logs.Properties.ObjectLockEnabled).toBeUndefined();
    expect(logs.Properties.LoggingConfiguration).toBeUndefined();
    const policies = resources("AWS::S3::BucketPolicy");
    expect(policies).toHaveLength(resources("AWS::S3::Bucket").length);
    for (const [, policy] of policies) {
      const statements = (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] })
        .Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: "Deny",
          Action: "s3:*",
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        }),
      );
    }
  });

  it("keeps the key material in a generated, KMS-encrypted secret", () => {
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      KmsKeyId: { "Fn::GetAtt": [logicalId(stack.keys.data), "Arn"] },
      GenerateSecretString: { GenerateStringKey: "master", PasswordLength: 64, SecretStringTemplate: "{}" },
    });
  });

  it("has a rotating data key and an ECC P-256 signing key", () => {
    template.hasResourceProperties("AWS::KMS::Key", {
      EnableKeyRotation: true,
      Description: Match.stringLikeRegexp("data at rest"),
    });
    template.hasResourceProperties("AWS::KMS::Key", { KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" });
  });
});

describe("database", () => {
  it("creates an encrypted Aurora Serverless v2 PostgreSQL cluster with the Data API, in isolated subnets", () => {
    template.hasResourceProperties("AWS::RDS::DBCluster", {
      Engine: "aurora-postgresql",
      EnableHttpEndpoint: true,
      StorageEncrypted: true,
      KmsKeyId: { "Fn::GetAtt": [logicalId(stack.keys.data), "Arn"] },
      DeletionProtection: true,
      DatabaseName: "ehr",
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
    });
    template.resourceCountIs("AWS::EC2::InternetGateway", 0);
    template.resourceCountIs("AWS::EC2::NatGateway", 0);
    for (const [, subnet] of resources("AWS::EC2::Subnet"))
      expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
  });

  it("backs the tables and the cluster up with AWS Backup into a KMS-encrypted vault", () => {
    template.hasResourceProperties("AWS::Backup::BackupVault", {
      EncryptionKeyArn: { "Fn::GetAtt": [logicalId(stack.keys.data), "Arn"] },
    });
    const [selection] = resources("AWS::Backup::BackupSelection");
    const listed = JSON.stringify(selection?.[1].Properties);
    expect(listed).toContain(logicalId(stack.storage.sessions));
    expect(listed).toContain(logicalId(stack.storage.approvals));
    expect(listed).toContain(logicalId(stack.database.cluster as never));
  });
});
