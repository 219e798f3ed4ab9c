// The AWS composition root and Lambda environment: validation, bundled policy, capabilities, and a request end to end.

import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput,
} from "@aws-sdk/client-dynamodb";
import { RDSDataClient } from "@aws-sdk/client-rds-data";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DynamoSessionStore } from "#infra/aws/adapters/dynamo-session-store.ts";
import { S3CatalogArchive } from "#infra/aws/adapters/s3-catalog-archive.ts";
import { composeFunction, createAwsDeps, loadBundledPolicy, serveRoute } from "#infra/aws/compose.ts";
import { type LambdaEnvironment, lambdaConfigFromEnv, lambdaEnvironment } from "#infra/aws/config.ts";
import { apiGatewayHandler } from "#infra/aws/edge.ts";
import { loadFunctions } from "#infra/aws/functions.ts";
import { secretsPart } from "#infra/aws/parts/secrets.ts";
import { workflowPart } from "#infra/aws/parts/workflow.ts";
import type { SqlParts } from "#infra/aws/parts.ts";
import { EDGE_AUTHORIZER_ENTRY } from "#infra/cdk/constructs/edge-authorizer.ts";
import { READER_ROLE_ENTRY } from "#infra/cdk/constructs/reader-role.ts";
import { parsedPolicyCopy, writeBundledPolicy } from "#infra/cdk/parsed-policy.ts";
import { ConfigurationError } from "#shared/errors.ts";
import { createGetSessionHandler, route as getSessionRoute } from "#shared/http/handlers/get-session.ts";
import { route as postQueryRoute } from "#shared/http/handlers/post-query.ts";
import { createTokenVerifier } from "#shared/identity/token-verifier.ts";
import { silentLogger } from "#shared/log.ts";
import type { StatementAnalyzer } from "#shared/ports.ts";
import { sampleRecord } from "#test/support/records.ts";
import { createTestIssuer } from "#test/support/tokens.ts";
import { FakeTable } from "#test/unit/aws/support/fake-dynamo.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const ISSUERS = JSON.stringify([
  {
    issuer: "https://token.actions.githubusercontent.com",
    jwksUri: "https://token.actions.githubusercontent.com/.well-known/jwks",
    audience: ["phigate"],
  },
]);
const ARN = {
  key: "arn:aws:kms:eu-west-1:111111111111:key/0000",
  cluster: "arn:aws:rds:eu-west-1:111111111111:cluster:ehr",
  dbSecret: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:db",
  keys: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:keys",
};

const ALL_FUNCTIONS = await loadFunctions();
/** The declaration a function id names (its id and capabilities). */
const entryOf = (id: string) => {
  const fn = ALL_FUNCTIONS.find((f) => f.id === id);
  if (fn === undefined) throw new Error(`no function ${id}`);
  return { id: fn.id, capabilities: fn.capabilities };
};

let bundleDir: string;
let policyDigest: string;

function env(functionId: string, extra: Partial<LambdaEnvironment> = {}): LambdaEnvironment {
  return {
    PHIGATE_FUNCTION_ID: functionId,
    PHIGATE_SESSIONS_TABLE: "sessions",
    PHIGATE_RESULTS_BUCKET: "results",
    PHIGATE_DATA_KEY_ARN: ARN.key,
    PHIGATE_ISSUERS: ISSUERS,
    PHIGATE_POLICY_DIGEST: policyDigest,
    ...extra,
  };
}

const dbEnv = {
  PHIGATE_DB_CLUSTER_ARN: ARN.cluster,
  PHIGATE_DB_SECRET_ARN: ARN.dbSecret,
  PHIGATE_DB_NAME: "ehr",
};

/** What post-query needs besides the database: approvals, the state machine and the policy archive. */
const queryEnv = {
  ...dbEnv,
  PHIGATE_KEYS_SECRET_ARN: ARN.keys,
  PHIGATE_APPROVALS_TABLE: "approvals",
  PHIGATE_STATE_MACHINE_ARN: "arn:aws:states:eu-west-1:111111111111:stateMachine:Phigate-approval",
  PHIGATE_EVIDENCE_BUCKET: "evidence",
};

beforeAll(async () => {
  bundleDir = await mkdtemp(join(tmpdir(), "phigate-bundle-"));
  writeBundledPolicy(join(ROOT, "policy/demo.yaml"), bundleDir);
  policyDigest = createHash("sha256")
    .update(await readFile(join(bundleDir, "policy.yaml")))
    .digest("hex");
});

afterAll(async () => {
  await rm(bundleDir, { recursive: true, force: true });
});

describe("Lambda environment", () => {
  it("validates with defaults and requires the variables of the route's capabilities", () => {
    const config = lambdaConfigFromEnv(env("get-session"), entryOf("get-session"));
    expect(config).toMatchObject({
      functionId: "get-session",
      policyFile: "policy.yaml",
      pageSize: 500,
      inlineMaxBytes: 1_000_000,
      resultUrlMaxTtlSeconds: 900,
      database: undefined,
      keysSecretArn: undefined,
    });
    expect(() => lambdaConfigFromEnv(env("post-query"), entryOf("post-query"))).toThrow(
      /PHIGATE_DB_CLUSTER_ARN/,
    );
    expect(() =>
      lambdaConfigFromEnv(
        env("post-query", { ...dbEnv, PHIGATE_KEYS_SECRET_ARN: ARN.keys }),
        entryOf("post-query"),
      ),
    ).toThrow(/PHIGATE_APPROVALS_TABLE, PHIGATE_STATE_MACHINE_ARN, PHIGATE_EVIDENCE_BUCKET/);
    const full = lambdaConfigFromEnv(env("post-query", queryEnv), entryOf("post-query"));
    expect(full.database).toEqual({ clusterArn: ARN.cluster, secretArn: ARN.dbSecret, database: "ehr" });
    expect(() => lambdaConfigFromEnv(env("no-such-route"), entryOf("get-session"))).toThrow(
      ConfigurationError,
    );
    expect(() =>
      lambdaConfigFromEnv(env("get-session", { PHIGATE_PAGE_SIZE: "0" }), entryOf("get-session")),
    ).toThrow(/PHIGATE_PAGE_SIZE/);
    expect(() =>
      lambdaConfigFromEnv(env("get-session", { PHIGATE_ISSUERS: "[]" }), entryOf("get-session")),
    ).toThrow(/PHIGATE_ISSUERS/);
    expect(() =>
      lambdaConfigFromEnv({ ...env("get-session"), PHIGATE_DATA_KEY_ARN: "key" }, entryOf("get-session")),
    ).toThrow(/ARN/);
  });

  it("builds the CDK environment prop, dropping unset values and refusing a missing capability variable", () => {
    const { capabilities } = entryOf("post-query");
    const built = lambdaEnvironment(
      { ...env("post-query", queryEnv), PHIGATE_LOG_LEVEL: undefined },
      capabilities,
    );
    expect(built.PHIGATE_DB_NAME).toBe("ehr");
    expect("PHIGATE_LOG_LEVEL" in built).toBe(false);
    expect(() => lambdaEnvironment(env("post-query"), capabilities)).toThrow(/PHIGATE_DB_CLUSTER_ARN/);
  });

  it("lets only the decision paths, notify-approvers and the keeper signal the workflow, only post-query and the MCP endpoint (which submits queries) start it", () => {
    const with_ = (check: (c: (typeof ALL_FUNCTIONS)[number]["capabilities"]) => boolean) =>
      ALL_FUNCTIONS.filter((f) => check(f.capabilities))
        .map((f) => f.id)
        .sort();
    expect(with_((c) => c.workflow === "signal")).toEqual([
      "approval-keeper",
      "post-approval-decision",
      "post-approval-page",
      "task-notify-approvers",
    ]);
    expect(with_((c) => c.workflow === "start")).toEqual(["mcp", "post-query"]);
    expect(with_((c) => c.notify)).toEqual(["task-notify-approvers"]);
    expect(with_((c) => c.evidence)).toEqual(["evidence-build", "nightly-evidence"]);
    expect(with_((c) => c.database)).toEqual(["get-catalog", "mcp", "post-query", "task-execute-approved"]);
  });
});

describe("Lambda entries", () => {
  it("has one entry file per declared function (every route, every workflow task, every job), the reader role's custom resource, the edge authorizer, and no other", async () => {
    const files = (await readdir(join(ROOT, "functions")))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => `functions/${f}`);
    expect(files.sort()).toEqual(
      [...ALL_FUNCTIONS.map((f) => f.entry), READER_ROLE_ENTRY, EDGE_AUTHORIZER_ENTRY].sort(),
    );
    expect(new Set(ALL_FUNCTIONS.map((f) => f.id)).size).toBe(ALL_FUNCTIONS.length);
  });
});

/** The SQL part of post-query over an executor that reads nothing, with the given analyzer. */
const sqlPart = (analyzer: () => Promise<StatementAnalyzer>): SqlParts => ({
  client: () => new RDSDataClient({ region: "eu-west-1" }),
  executor: () => ({
    execute: async () => ({ rowCount: 0, truncated: false, durationMs: 0 }),
    estimateRows: async () => 0,
    loadCatalog: async () => ({ version: "", searchPath: [], relations: [] }),
    close: async () => {},
  }),
  analyzer,
});

describe("serveRoute", () => {
  const dynamo = mockClient(DynamoDBClient);
  const s3 = mockClient(S3Client);
  let table: FakeTable;

  beforeEach(() => {
    dynamo.reset();
    s3.reset();
    s3.on(PutObjectCommand).resolves({});
    table = new FakeTable();
    dynamo.on(GetItemCommand).callsFake((input: GetItemCommandInput) => table.getItem(input));
    dynamo
      .on(TransactWriteItemsCommand)
      .callsFake((input: TransactWriteItemsCommandInput) => table.transactWrite(input));
  });

  const event = (token?: string, id = "ses_00000000000000000000000000"): APIGatewayProxyEventV2 =>
    ({
      version: "2.0",
      routeKey: "GET /v1/sessions/{id}",
      rawPath: `/v1/sessions/${id}`,
      rawQueryString: "",
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      pathParameters: { id },
      requestContext: {
        http: { method: "GET", path: `/v1/sessions/${id}`, sourceIp: "192.0.2.1", userAgent: "t" },
      },
      isBase64Encoded: false,
    }) as unknown as APIGatewayProxyEventV2;

  it("composes get-session from the environment and the bundled policy; refuses requests without a token", async () => {
    const handler = await serveRoute(
      getSessionRoute,
      {},
      {
        env: env("get-session"),
        bundleDir,
        logger: silentLogger,
      },
    );
    const response = await handler(event());
    expect(response.statusCode).toBe(401);
  });

  it("refuses to start on a foreign route's configuration, a changed policy or a missing SQL side", async () => {
    await expect(composeFunction(postQueryRoute, {}, { env: env("get-session"), bundleDir })).rejects.toThrow(
      /configured for get-session/,
    );
    await expect(
      serveRoute(
        getSessionRoute,
        {},
        {
          env: env("get-session", { PHIGATE_POLICY_DIGEST: "0".repeat(64) }),
          bundleDir,
        },
      ),
    ).rejects.toThrow(/does not match/);
    await expect(
      composeFunction(
        postQueryRoute,
        {},
        {
          env: env("post-query", queryEnv),
          bundleDir,
          logger: silentLogger,
        },
      ),
    ).rejects.toThrow(/database capability/);
  });

  it("refuses to start without the policy's parsed copy, or with one made from other text", async () => {
    const dir = await mkdtemp(join(tmpdir(), "phigate-bundle-"));
    try {
      const demo = await readFile(join(ROOT, "policy/demo.yaml"), "utf8");
      await writeFile(join(dir, "policy.yaml"), demo);
      const start = () =>
        serveRoute(getSessionRoute, {}, { env: env("get-session"), bundleDir: dir, logger: silentLogger });
      await expect(start()).rejects.toThrow(/policy\.yaml\.json cannot be read/);
      await writeFile(join(dir, "policy.yaml.json"), parsedPolicyCopy(`${demo}\n# other text\n`, "other"));
      await expect(start()).rejects.toThrow(/not made from this policy text/);
      await writeFile(join(dir, "policy.yaml.json"), parsedPolicyCopy(demo, "demo"));
      await expect(start()).resolves.toBeTypeOf("function");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("hands the database configuration, Data API client and catalog archive to the entry's SQL parts", async () => {
    const seen: unknown[] = [];
    const archives: unknown[] = [];
    await serveRoute(
      postQueryRoute,
      {
        secrets: secretsPart,
        workflow: workflowPart,
        sql: {
          client: () => new RDSDataClient({ region: "eu-west-1" }),
          executor: (options) => {
            seen.push({
              clusterArn: options.clusterArn,
              secretArn: options.secretArn,
              database: options.database,
            });
            return {
              execute: async () => ({ rowCount: 0, truncated: false, durationMs: 0 }),
              estimateRows: async () => 0,
              loadCatalog: async () => ({ version: "", searchPath: [], relations: [] }),
              close: async () => {},
            };
          },
          analyzer: (_executor, _logger, archive) => {
            archives.push(archive);
            return {
              analyze: async () => Promise.reject(new Error("unused")),
              catalog: async () => Promise.reject(new Error("unused")),
            };
          },
        },
      },
      {
        env: env("post-query", queryEnv),
        bundleDir,
        logger: silentLogger,
      },
    );
    expect(seen).toEqual([{ clusterArn: ARN.cluster, secretArn: ARN.dbSecret, database: "ehr" }]);
    // The deciding function archives each catalog snapshot in the evidence bucket (catalogs/<version>.json).
    expect(archives).toEqual([expect.any(S3CatalogArchive)]);
    const archived = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(archived).toHaveLength(1);
    expect(archived[0]).toMatchObject({
      Bucket: "evidence",
      Key: `policies/${policyDigest}.yaml`,
      IfNoneMatch: "*",
    });
  });

  it("archives the policy while the SQL parser loads, and fails the start when either fails", async () => {
    const compose = (analyzer: () => Promise<StatementAnalyzer>) =>
      serveRoute(
        postQueryRoute,
        { secrets: secretsPart, workflow: workflowPart, sql: sqlPart(analyzer) },
        { env: env("post-query", queryEnv), bundleDir, logger: silentLogger },
      );
    const analyzer: StatementAnalyzer = {
      analyze: async () => Promise.reject(new Error("unused")),
      catalog: async () => Promise.reject(new Error("unused")),
    };

    // The parser finishes loading only once the archive put has started: one after the other, this never composes.
    let putStarted = () => {};
    const archiving = new Promise<void>((resolve) => {
      putStarted = resolve;
    });
    s3.on(PutObjectCommand).callsFake(() => {
      putStarted();
      return {};
    });
    // Only a deadlock breaker (run in order, the two wait for each other forever), not a timing limit: generous,
    // so a slow machine cannot fail it, and under the test's own timeout, so the failure says why.
    const waited = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error("the policy archive waited for the parser")), 30_000).unref(),
    );
    waited.catch(() => undefined);
    await compose(() => Promise.race([archiving.then(() => analyzer), waited]));
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);

    s3.on(PutObjectCommand).rejects(new Error("archive unavailable"));
    await expect(compose(async () => analyzer)).rejects.toThrow();
    s3.on(PutObjectCommand).resolves({});
    await expect(compose(() => Promise.reject(new Error("no parser")))).rejects.toThrow("no parser");
  });

  it("reads the chain while the policy is archived, and records a new policy only once its text is", async () => {
    const sql = sqlPart(async () => ({
      analyze: async () => Promise.reject(new Error("unused")),
      catalog: async () => Promise.reject(new Error("unused")),
    }));
    const compose = () =>
      serveRoute(
        postQueryRoute,
        { secrets: secretsPart, workflow: workflowPart, sql },
        { env: env("post-query", queryEnv), bundleDir, logger: silentLogger },
      );
    const policyWrites = () =>
      dynamo
        .commandCalls(TransactWriteItemsCommand)
        .filter((c) => JSON.stringify(c.args[0].input).includes(policyDigest));
    // The put is held until the chain has been read: read only after the put, as before, the two wait for each
    // other. The breaker only turns that deadlock into a failure that says why (generous: not a timing limit).
    let chainRead = () => {};
    const read = new Promise<void>((resolve) => {
      chainRead = resolve;
    });
    const readFirst = Promise.race([
      read,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("the chain was read only after the archive put")), 20_000).unref(),
      ),
    ]);
    readFirst.catch(() => undefined);
    dynamo.on(GetItemCommand).callsFake((input: GetItemCommandInput) => {
      chainRead();
      return table.getItem(input);
    });
    let puts = 0;
    s3.on(PutObjectCommand).callsFake(async () => {
      puts++;
      await readFirst;
      await new Promise((resolve) => setImmediate(resolve));
      // Nothing names the policy before its text is archived.
      expect(policyWrites()).toHaveLength(0);
      return {};
    });
    await compose();
    expect(puts).toBe(1);
    expect(policyWrites()).toHaveLength(1);

    // A failed put fails the start and records nothing, even for a policy the chain has not seen.
    table = new FakeTable();
    dynamo.resetHistory();
    puts = 0;
    s3.on(PutObjectCommand).callsFake(async () => {
      puts++;
      await readFirst;
      throw new Error("archive unavailable");
    });
    await expect(compose()).rejects.toThrow();
    expect(puts).toBe(1);
    expect(dynamo.commandCalls(GetItemCommand).length).toBeGreaterThan(0);
    expect(policyWrites()).toHaveLength(0);
  });

  it("serves a stored session through the DynamoDB and S3 adapters to its requester", async () => {
    const idp = await createTestIssuer("https://token.actions.githubusercontent.com/");
    const config = lambdaConfigFromEnv(env("get-session"), entryOf("get-session"));
    const policy = await loadBundledPolicy(bundleDir, config);
    const deps = await createAwsDeps(
      config,
      policy,
      { dynamo: new DynamoDBClient({ region: "eu-west-1" }), s3: new S3Client({ region: "eu-west-1" }) },
      silentLogger,
      {},
    );
    const record = sampleRecord({
      principal: { ...sampleRecord().principal, issuer: idp.issuer, subject: "ci", key: `${idp.issuer}#ci` },
    });
    await new DynamoSessionStore({
      client: new DynamoDBClient({ region: "eu-west-1" }),
      tableName: "sessions",
      logger: silentLogger,
      idempotencyTtlSeconds: 60,
    }).create(record);
    const handler = apiGatewayHandler(
      createGetSessionHandler({ ...deps, verifier: createTokenVerifier([idp.config]) }),
    );
    const response = await handler?.(event(await idp.token("ci"), record.sessionId));
    expect(response?.statusCode).toBe(200);
    expect(JSON.parse(String(response?.body))).toMatchObject({
      sessionId: record.sessionId,
      status: "running",
    });
    const stranger = await handler?.(event(await idp.token("someone-else"), record.sessionId));
    expect(stranger?.statusCode).toBe(404);
    await expect(deps.keys.key("tokenization")).rejects.toThrow(/keys capability/);
    await expect(deps.executor.loadCatalog()).rejects.toThrow(/database capability/);
    expect(dynamo.commandCalls(GetItemCommand).at(-1)?.args[0].input.TableName).toBe("sessions");
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });
});
