// The AWS composition root: validated environment, SDK clients, bundled policy and verifier, built once per container.

import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { RDSDataClient } from "@aws-sdk/client-rds-data";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoSessionStore } from "#shared/adapters/aws/dynamo-session-store.ts";
import { createPowertoolsLogger } from "#shared/adapters/aws/powertools-logger.ts";
import { S3ObjectStore } from "#shared/adapters/aws/s3-object-store.ts";
import { SecretsKeyProvider } from "#shared/adapters/aws/secrets-key-provider.ts";
import { type DatabaseConfig, type LambdaConfig, lambdaConfigFromEnv } from "#shared/config/lambda-env.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { ConfigurationError, UnavailableError } from "#shared/errors.ts";
import type { ApiHandler } from "#shared/http/api-handler.ts";
import { HANDLER_FACTORIES, type HandlerDeps } from "#shared/http/handler-registry.ts";
import { RateLimiter } from "#shared/http/rate-limiter.ts";
import { createTokenVerifier } from "#shared/identity/token-verifier.ts";
import type { Logger } from "#shared/log.ts";
import { type LoadedPolicy, parsePolicy } from "#shared/policy/load.ts";
import {
  type ApprovalStore,
  type ApprovalWorkflow,
  type EvidenceStore,
  type KeyProvider,
  type PolicyArchive,
  type Signer,
  type SqlExecutor,
  systemClock,
} from "#shared/ports.ts";
import { DecisionCache } from "#shared/sessions/decide-request.ts";
import type { StatementAnalyzer } from "#shared/sessions/deps.ts";

/**
 * The SQL side of a function, supplied by entries whose route has the `database` capability. It is passed in
 * rather than imported here so that functions without it never bundle (or load) the parser's WASM.
 */
export interface SqlParts {
  executor(options: DatabaseConfig & { client: RDSDataClient; logger: Logger }): SqlExecutor;
  analyzer(executor: SqlExecutor, logger: Logger): StatementAnalyzer | Promise<StatementAnalyzer>;
}

/** The SDK clients a function uses (injectable for tests; one of each per container, only those it needs). */
export interface AwsClients {
  readonly dynamo: DynamoDBClient;
  readonly s3: S3Client;
  readonly rdsData?: RDSDataClient | undefined;
  readonly secrets?: SecretsManagerClient | undefined;
}

/** Where to find the bundled policy, and overrides for tests. */
export interface ComposeOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The bundle's directory (default: `LAMBDA_TASK_ROOT`, else this module's directory). */
  readonly bundleDir?: string;
  readonly clients?: Partial<AwsClients>;
  readonly logger?: Logger;
}

function missing(capability: string): never {
  throw new ConfigurationError(`this function was not given the ${capability} capability`);
}

const noExecutor: SqlExecutor = {
  execute: async () => missing("database"),
  estimateRows: async () => missing("database"),
  loadCatalog: async () => missing("database"),
  close: async () => {},
};

const noAnalyzer: StatementAnalyzer = { analyze: async () => missing("database") };

const noKeys: KeyProvider = { key: async () => missing("keys") };

const noSigner: Signer = {
  signDigest: async () => missing("evidence"),
  publicKey: async () => missing("evidence"),
};

const noEvidence: EvidenceStore = { open: async () => missing("evidence") };

const noPolicyArchive: PolicyArchive = {
  put: async () => missing("evidence"),
  get: async () => missing("evidence"),
};

function approvalsLater(): never {
  throw new UnavailableError(
    "workflow_unavailable",
    "approvals are not wired on this host yet (the Step Functions side arrives with AWS phase 2)",
  );
}

/** Until AWS phase 2 brings DynamoDB approvals and Step Functions: every approval step fails closed (503). */
const noApprovals: ApprovalStore = {
  create: async () => approvalsLater(),
  get: async () => approvalsLater(),
  appendDecision: async () => approvalsLater(),
  transition: async () => approvalsLater(),
  setTask: async () => approvalsLater(),
  close: async () => approvalsLater(),
  listOpen: async () => approvalsLater(),
};

const noWorkflow: ApprovalWorkflow = {
  start: async () => approvalsLater(),
  sendTaskSuccess: async () => approvalsLater(),
  sendTaskFailure: async () => approvalsLater(),
  sendTaskHeartbeat: async () => approvalsLater(),
};

/** Reads the policy bundled next to the function and checks it is the one the stack was synthesized with. */
export async function loadBundledPolicy(bundleDir: string, config: LambdaConfig): Promise<LoadedPolicy> {
  const path = join(bundleDir, config.policyFile);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new ConfigurationError(`the bundled policy ${config.policyFile} cannot be read`, { cause });
  }
  if (sha256Hex(text) !== config.policyDigest) {
    throw new ConfigurationError("the bundled policy does not match PHIGATE_POLICY_DIGEST");
  }
  return parsePolicy(text, config.policyFile);
}

/** Builds every dependency of the route's handler from a validated configuration. */
export async function createAwsDeps(
  config: LambdaConfig,
  policy: LoadedPolicy,
  clients: AwsClients,
  logger: Logger,
  sql: SqlParts | undefined,
): Promise<HandlerDeps> {
  const { capabilities } = config;
  let executor = noExecutor;
  let analyzer = noAnalyzer;
  if (capabilities.database) {
    if (sql === undefined || config.database === undefined || clients.rdsData === undefined)
      missing("database");
    executor = sql.executor({ ...config.database, client: clients.rdsData, logger });
    analyzer = await sql.analyzer(executor, logger);
  }
  const keys =
    capabilities.keys && config.keysSecretArn !== undefined && clients.secrets !== undefined
      ? new SecretsKeyProvider({ client: clients.secrets, secretArn: config.keysSecretArn })
      : noKeys;
  const policySource = { current: () => policy, context: { devIssuer: undefined } };
  return {
    verifier: createTokenVerifier(config.issuers),
    logger,
    rateLimiter: new RateLimiter(policySource.current, policySource.context),
    analyzer,
    policy: policySource,
    executor,
    sessions: new DynamoSessionStore({
      client: clients.dynamo,
      tableName: config.sessionsTable,
      logger,
      idempotencyTtlSeconds: config.idempotencyTtlSeconds,
    }),
    objects: new S3ObjectStore({
      client: clients.s3,
      bucket: config.resultsBucket,
      kmsKeyArn: config.dataKeyArn,
      maxUrlTtlSeconds: config.resultUrlMaxTtlSeconds,
    }),
    keys,
    clock: systemClock,
    results: { pageSize: config.pageSize, inlineMaxBytes: config.inlineMaxBytes },
    decisions: new DecisionCache(),
    signer: noSigner,
    evidence: noEvidence,
    policyArchive: noPolicyArchive,
    approvals: noApprovals,
    workflow: noWorkflow,
    publicUrl: () => approvalsLater(),
    signIn: undefined,
  };
}

/**
 * The handler of one route, composed at cold start (call it with top-level `await` in the entry so the work
 * happens in the init phase): environment validated, clients created, policy loaded and checked, verifier
 * built. A function configured for another route refuses to start.
 */
export async function composeHandler(
  routeId: string,
  sql?: SqlParts,
  options: ComposeOptions = {},
): Promise<ApiHandler> {
  const config = lambdaConfigFromEnv(options.env ?? process.env);
  if (config.routeId !== routeId) {
    throw new ConfigurationError(`this entry serves ${routeId} but is configured for ${config.routeId}`);
  }
  const factory = HANDLER_FACTORIES[routeId];
  if (factory === undefined) throw new ConfigurationError(`route ${routeId} has no handler`);
  const logger =
    options.logger ??
    createPowertoolsLogger({ serviceName: `phigate-${routeId}`, level: config.logLevel }).logger;
  const bundleDir =
    options.bundleDir ?? process.env.LAMBDA_TASK_ROOT ?? dirname(fileURLToPath(import.meta.url));
  const policy = await loadBundledPolicy(bundleDir, config);
  const { database, keys } = config.capabilities;
  const clients: AwsClients = {
    dynamo: options.clients?.dynamo ?? new DynamoDBClient({}),
    s3: options.clients?.s3 ?? new S3Client({}),
    rdsData: database ? (options.clients?.rdsData ?? new RDSDataClient({})) : undefined,
    secrets: keys ? (options.clients?.secrets ?? new SecretsManagerClient({})) : undefined,
  };
  const deps = await createAwsDeps(config, policy, clients, logger, sql);
  logger.info("function composed", { route: routeId, policyDigest: policy.digest });
  return factory(deps);
}
