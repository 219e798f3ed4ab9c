// The AWS composition root: validated environment, SDK clients, bundled policy and verifier, built once per container.

import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { KMSClient } from "@aws-sdk/client-kms";
import type { RDSDataClient } from "@aws-sdk/client-rds-data";
import { S3Client } from "@aws-sdk/client-s3";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SFNClient } from "@aws-sdk/client-sfn";
import type { SNSClient } from "@aws-sdk/client-sns";
import { DynamoApprovalStore } from "#infra/aws/adapters/dynamo-approval-store.ts";
import { DynamoCallerTurns } from "#infra/aws/adapters/dynamo-caller-turns.ts";
import { DynamoEvidenceJobStore } from "#infra/aws/adapters/dynamo-evidence-jobs.ts";
import { DynamoReadLedger } from "#infra/aws/adapters/dynamo-read-ledger.ts";
import { DynamoSessionStore } from "#infra/aws/adapters/dynamo-session-store.ts";
import {
  type DeadlineContext,
  edgeDeadline,
  withInvocationDeadline,
} from "#infra/aws/adapters/invocation-deadline.ts";
import { createPowertoolsLogger } from "#infra/aws/adapters/powertools-logger.ts";
import { S3CatalogArchive } from "#infra/aws/adapters/s3-catalog-archive.ts";
import { S3ObjectStore } from "#infra/aws/adapters/s3-object-store.ts";
import { S3PolicyArchive } from "#infra/aws/adapters/s3-policy-archive.ts";
import { type LambdaConfig, lambdaConfigFromEnv } from "#infra/aws/config.ts";
import { type ApiGatewayHandler, apiGatewayHandler } from "#infra/aws/edge.ts";
import type { AwsParts, PartsFor } from "#infra/aws/parts.ts";
import type { Capabilities, EntryDeclaration } from "#shared/capabilities.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { ConfigurationError } from "#shared/errors.ts";
import { RateLimiter } from "#shared/http/rate-limiter.ts";
import type { HandlerDeps, RouteDeclaration } from "#shared/http/route.ts";
import { createTokenVerifier } from "#shared/identity/token-verifier.ts";
import type { Logger } from "#shared/log.ts";
import { parsedPolicyFile, policyFromParsedCopy } from "#shared/policy/parsed-copy.ts";
import type { LoadedPolicy } from "#shared/policy/validate.ts";
import {
  type ApprovalStore,
  type ApprovalWorkflow,
  type CatalogArchive,
  type EvidenceStore,
  type KeyProvider,
  type Notifier,
  type PolicyArchive,
  type Signer,
  type SqlExecutor,
  type StatementAnalyzer,
  systemClock,
} from "#shared/ports.ts";
import { DecisionCache } from "#shared/query/decide-request.ts";
import type { OrphanDeps } from "#shared/sessions/orphans.ts";
import { functionPolicyChanger } from "#shared/sessions/policy-change.ts";
import { type ApproverSignIn, CALLBACK_PATH } from "#shared/web/oidc-client.ts";

export type { AwsParts, PartsFor, SqlParts } from "#infra/aws/parts.ts";

/** The SDK clients a function uses (injectable for tests; one of each per container, only those it needs). */
export interface AwsClients {
  readonly dynamo: DynamoDBClient;
  readonly s3: S3Client;
  readonly rdsData?: RDSDataClient | undefined;
  readonly secrets?: SecretsManagerClient | undefined;
  readonly sfn?: SFNClient | undefined;
  readonly sns?: SNSClient | undefined;
  readonly kms?: KMSClient | undefined;
}

/** Where to find the bundled policy, and overrides for tests. */
export interface ComposeOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The bundle's directory (default: `LAMBDA_TASK_ROOT`, else this module's directory). */
  readonly bundleDir?: string;
  readonly clients?: Partial<AwsClients>;
  readonly logger?: Logger;
  /** Wraps each SDK client the root creates (the job functions pass the X-Ray tracer's `captureAWSv3Client`). */
  readonly instrument?: <T>(client: T) => T;
}

/** Everything a phigate function may need: the route handlers' deps plus the workflow tasks' notifier. */
export type AwsDeps = HandlerDeps & { readonly notifier: Notifier } & OrphanDeps;

/** The evidence jobs a function's capability allows: read their records, or also write them (and start builds). */
function evidenceJobsOf(config: LambdaConfig, clients: AwsClients, parts: AwsParts): AwsDeps["evidenceJobs"] {
  const mode = config.capabilities.evidenceJobs;
  if (mode === "none") return undefined;
  const store = new DynamoEvidenceJobStore({ client: clients.dynamo, tableName: config.sessionsTable });
  if (mode === "read") return { status: store };
  const launcher =
    mode === "start"
      ? required(parts.evidenceJobs, "evidenceJobs").launcher(
          required(clients.sfn, "evidenceJobs"),
          required(config.evidenceMachineArn, "evidenceJobs"),
          required(config.evidenceBucket, "evidenceJobs"),
        )
      : { location: () => missing("evidenceJobs"), launch: async () => missing("evidenceJobs") };
  return { status: store, jobs: { store, launcher } };
}

function missing(capability: string): never {
  throw new ConfigurationError(
    `this function was not given the ${capability} capability (or its entry does not supply its part)`,
  );
}

const noExecutor: SqlExecutor = {
  execute: async () => missing("database"),
  estimateRows: async () => missing("database"),
  loadCatalog: async () => missing("database"),
  close: async () => {},
};

const noAnalyzer: StatementAnalyzer = {
  analyze: async () => missing("database"),
  catalog: async () => missing("database"),
};

const noKeys: KeyProvider = { key: async () => missing("keys") };

const noSigner: Signer = {
  signDigest: async () => missing("evidence"),
  publicKey: async () => missing("evidence"),
};

const noEvidence: EvidenceStore = { open: async () => missing("evidence") };

const noPolicyArchive: PolicyArchive = {
  put: async () => missing("policyArchive"),
  get: async () => missing("policyArchive"),
};

const noCatalogArchive: CatalogArchive = {
  put: async () => missing("policyArchive"),
  get: async () => missing("policyArchive"),
};

const noApprovals: ApprovalStore = {
  create: async () => missing("approvals"),
  get: async () => missing("approvals"),
  appendDecision: async () => missing("approvals"),
  transition: async () => missing("approvals"),
  setTask: async () => missing("approvals"),
  close: async () => missing("approvals"),
  listOpen: async () => missing("approvals"),
};

const noWorkflow: ApprovalWorkflow = {
  start: async () => missing("workflow"),
  sendTaskSuccess: async () => missing("workflow"),
  sendTaskFailure: async () => missing("workflow"),
  sendTaskHeartbeat: async () => missing("workflow"),
};

const noNotifier: Notifier = { notify: async () => missing("notify") };

/**
 * Reads the policy bundled next to the function and checks it is the one the stack was synthesized with; its
 * document comes from the parsed copy made at synth, which must have been made from exactly that text.
 */
export async function loadBundledPolicy(bundleDir: string, config: LambdaConfig): Promise<LoadedPolicy> {
  const copyFile = parsedPolicyFile(config.policyFile);
  let text: string;
  let copy: string;
  try {
    [text, copy] = await Promise.all([
      readFile(join(bundleDir, config.policyFile), "utf8"),
      readFile(join(bundleDir, copyFile), "utf8"),
    ]);
  } catch (cause) {
    throw new ConfigurationError(`the bundled policy ${config.policyFile} or ${copyFile} cannot be read`, {
      cause,
    });
  }
  if (sha256Hex(text) !== config.policyDigest) {
    throw new ConfigurationError("the bundled policy does not match PHIGATE_POLICY_DIGEST");
  }
  return policyFromParsedCopy(text, copy, config.policyFile);
}

function required<T>(value: T | undefined, capability: string): T {
  if (value === undefined) missing(capability);
  return value;
}

/** Approver sign-in from the configuration: undefined when no provider is configured (the pages answer 503). */
async function approverSignIn(
  config: LambdaConfig,
  clients: AwsClients,
  parts: AwsParts,
): Promise<ApproverSignIn | undefined> {
  const { signIn } = config.capabilities;
  if (signIn === "none" || config.approverOidc === undefined) return undefined;
  const publicUrl = required(config.publicUrl, "publicUrl");
  const base: ApproverSignIn = { ...config.approverOidc, redirectUri: `${publicUrl}${CALLBACK_PATH}` };
  if (signIn !== "exchange" || config.approverClientSecretArn === undefined) return base;
  const secrets = required(clients.secrets, "signIn");
  const part = required(parts.secrets, "signIn");
  return { ...base, clientSecret: await part.clientSecret(secrets, config.approverClientSecretArn) };
}

function policyArchiveOf(config: LambdaConfig, clients: AwsClients): S3PolicyArchive {
  return new S3PolicyArchive({
    client: clients.s3,
    bucket: required(config.evidenceBucket, "evidence"),
    kmsKeyArn: config.dataKeyArn,
  });
}

function catalogArchiveOf(config: LambdaConfig, clients: AwsClients): S3CatalogArchive {
  return new S3CatalogArchive({
    client: clients.s3,
    bucket: required(config.evidenceBucket, "evidence"),
    kmsKeyArn: config.dataKeyArn,
  });
}

/** Builds every dependency a function's capabilities allow; everything else fails closed as a configuration error. */
export async function createAwsDeps(
  config: LambdaConfig,
  policy: LoadedPolicy,
  clients: AwsClients,
  logger: Logger,
  parts: AwsParts,
): Promise<AwsDeps> {
  const { sql } = parts;
  const { capabilities: can } = config;
  let executor = noExecutor;
  let analyzing: StatementAnalyzer | Promise<StatementAnalyzer> = noAnalyzer;
  if (can.database) {
    if (sql === undefined || config.database === undefined || clients.rdsData === undefined)
      missing("database");
    executor = sql.executor({ ...config.database, client: clients.rdsData, logger });
    // A function that decides archives every catalog snapshot it analyzes against, so evidence can re-analyze.
    const archive = can.policyArchive === "write" ? catalogArchiveOf(config, clients) : undefined;
    analyzing = sql.analyzer(executor, logger, archive);
  }
  const keys =
    can.keys && config.keysSecretArn !== undefined && clients.secrets !== undefined
      ? required(parts.secrets, "keys").keys(clients.secrets, config.keysSecretArn)
      : noKeys;
  const evidenceBucket = () => required(config.evidenceBucket, "evidence");
  // Independent cold-start waits (the parser's WASM, the client secret) run at once; either failing fails the whole.
  const [analyzer, signIn] = await Promise.all([analyzing, approverSignIn(config, clients, parts)]);
  const policySource = { current: () => policy, context: { devIssuer: undefined } };
  const signing = can.evidence || can.log !== "none" ? required(parts.signer, "evidence") : undefined;
  const signer =
    signing === undefined
      ? noSigner
      : signing.signer(required(clients.kms, "evidence"), required(config.signingKeyArn, "evidence"));
  const sessions = new DynamoSessionStore({
    client: clients.dynamo,
    tableName: config.sessionsTable,
    logger,
    idempotencyTtlSeconds: config.idempotencyTtlSeconds,
  });
  return {
    verifier: createTokenVerifier(config.issuers),
    logger,
    rateLimiter: new RateLimiter(policySource.current, policySource.context),
    analyzer,
    policy: policySource,
    executor,
    sessions,
    reads: new DynamoReadLedger({ client: clients.dynamo, tableName: config.sessionsTable }),
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
    turns: new DynamoCallerTurns({ client: clients.dynamo, tableName: config.sessionsTable, logger }),
    signer,
    // Proofs and bundles read the log the sequencer keeps; a bundle builder also stores checkpoints of exact sizes.
    ...(can.log === "none" || signing === undefined
      ? {}
      : {
          log: await signing.log({
            client: clients.dynamo,
            tableName: config.sessionsTable,
            signer,
            ...(can.evidence
              ? {
                  checkpoints: signing.checkpoints({
                    client: clients.s3,
                    bucket: evidenceBucket(),
                    kmsKeyArn: config.dataKeyArn,
                  }),
                }
              : {}),
          }),
        }),
    evidence:
      can.evidence && signing !== undefined
        ? signing.evidence({ client: clients.s3, bucket: evidenceBucket(), kmsKeyArn: config.dataKeyArn })
        : noEvidence,
    policyArchive: can.policyArchive === "none" ? noPolicyArchive : policyArchiveOf(config, clients),
    catalogArchive: can.policyArchive === "none" ? noCatalogArchive : catalogArchiveOf(config, clients),
    approvals:
      can.approvals === "none"
        ? noApprovals
        : new DynamoApprovalStore({
            client: clients.dynamo,
            tableName: required(config.approvalsTable, "approvals"),
          }),
    workflow:
      can.workflow === "none"
        ? noWorkflow
        : required(parts.workflow, "workflow").workflow(
            required(clients.sfn, "workflow"),
            can.workflow === "start" ? config.stateMachineArn : undefined,
          ),
    notifier: can.notify
      ? required(parts.notifier, "notify").notifier(
          required(clients.sns, "notify"),
          required(config.approversTopicArn, "notify"),
        )
      : noNotifier,
    publicUrl: () => required(config.publicUrl, "publicUrl"),
    evidenceJobs: evidenceJobsOf(config, clients, parts),
    signIn,
    // Sessions a timed-out function left running, listed through the sparse index only the keeper may query.
    orphans: can.sweepsSessions
      ? { running: (before) => sessions.running(before), afterSeconds: config.orphanAfterSeconds }
      : undefined,
  };
}

/** A function's composed dependencies and configuration. */
export interface ComposedFunction {
  readonly config: LambdaConfig;
  readonly deps: AwsDeps;
  readonly logger: Logger;
  /** The SDK clients it created (an entry that builds more than the deps, like the log sequencer, reuses them). */
  readonly clients: AwsClients;
}

/**
 * Composes a function at cold start (call it with top-level `await` in the entry so the work happens in the init
 * phase): environment validated, clients created (only those its declared capabilities use), policy loaded and
 * checked, verifier built. A function that decides under the policy archives it first (write-once, by digest), so
 * evidence can cite it later. A function configured for another id refuses to start.
 */
export async function composeFunction(
  entry: Pick<EntryDeclaration, "id" | "capabilities">,
  parts: AwsParts = {},
  options: ComposeOptions = {},
): Promise<ComposedFunction> {
  const functionId = entry.id;
  const config = lambdaConfigFromEnv(options.env ?? process.env, entry);
  const logger =
    options.logger ??
    createPowertoolsLogger({ serviceName: `phigate-${functionId}`, level: config.logLevel }).logger;
  const bundleDir =
    options.bundleDir ?? process.env.LAMBDA_TASK_ROOT ?? dirname(fileURLToPath(import.meta.url));
  const policy = await loadBundledPolicy(bundleDir, config);
  const can = config.capabilities;
  const given = options.clients ?? {};
  const wrap = options.instrument ?? (<T>(client: T): T => client);
  const clients: AwsClients = {
    dynamo: given.dynamo ?? wrap(new DynamoDBClient({})),
    s3: given.s3 ?? wrap(new S3Client({})),
    rdsData: can.database ? (given.rdsData ?? wrap(required(parts.sql, "database").client())) : undefined,
    secrets:
      can.keys || can.signIn === "exchange"
        ? (given.secrets ?? wrap(required(parts.secrets, "keys").client()))
        : undefined,
    sfn:
      can.workflow !== "none"
        ? (given.sfn ?? wrap(required(parts.workflow, "workflow").client()))
        : can.evidenceJobs === "start"
          ? (given.sfn ?? wrap(required(parts.evidenceJobs, "evidenceJobs").client()))
          : undefined,
    sns: can.notify ? (given.sns ?? wrap(required(parts.notifier, "notify").client())) : undefined,
    kms:
      can.evidence || can.log !== "none"
        ? (given.kms ?? wrap(required(parts.signer, "evidence").client()))
        : undefined,
  };
  // The policy is archived while the dependencies are built (they don't depend on it); either failing fails the start.
  const archived =
    can.policyArchive === "write"
      ? policyArchiveOf(config, clients).put(policy.text)
      : Promise.resolve(undefined);
  // Awaited below; this only keeps a put that fails while the dependencies are built from being reported unhandled.
  archived.catch(() => {});
  const deps = await createAwsDeps(config, policy, clients, logger, parts);
  // A function that decides under its bundled policy records it in the chain (a new one is an entry of its own): the
  // chain is read while the put runs, and written, when the policy is new, only once the text is archived.
  const recorded =
    can.policyArchive === "write" && can.sessions === "write"
      ? deps.sessions.recordPolicy(
          { name: policy.document.name, digest: policy.digest },
          functionPolicyChanger(functionId, config.policyFile, options.env ?? process.env),
          archived,
        )
      : undefined;
  await Promise.all([archived, recorded]);
  logger.info("function composed", { function: functionId, policyDigest: policy.digest });
  return { config, deps, logger, clients };
}

/**
 * The API Gateway (payload v2) handler of one route, composed at cold start from its declaration. The entry imports
 * its own route's module (never the route table, which reads every handler, the approval page's SQL highlighter
 * with it, whose module loads the parser's WASM on import), so a bundle holds only its route's code, and passes
 * exactly the parts the route's capabilities use (the compiler checks it).
 */
export async function serveRoute<const C extends Capabilities>(
  route: RouteDeclaration<C, AwsDeps>,
  parts: NoInfer<PartsFor<C>>,
  options: ComposeOptions = {},
): Promise<ApiGatewayHandler> {
  const { deps } = await composeFunction(route, parts, options);
  const handler = apiGatewayHandler(route.create(deps));
  // Each invocation runs under Lambda's deadline or API Gateway's, whichever comes first, so database calls are clamped
  // to the time left for an answer the caller still receives (with its session id), not one the edge has given up on.
  return (event, context?: DeadlineContext) =>
    withInvocationDeadline(context, () => handler(event), edgeDeadline(event.requestContext?.timeEpoch));
}
