// The Lambda environment: one schema that types the CDK `environment` prop and validates it at cold start.

import * as z from "zod";
import { type EntryDeclaration, type FunctionCapabilities, fullCapabilities } from "#shared/capabilities.ts";
import { ConfigurationError } from "#shared/errors.ts";
import { parseTrustedIssuers, type TrustedIssuer } from "#shared/identity/issuers.ts";
import { parseJsonSetting } from "#shared/json-setting.ts";
import type { LogLevel } from "#shared/log.ts";
import { type ApproverSignIn, approverSignInSchema } from "#shared/web/oidc-client.ts";

const name = z.string().min(1).max(1024);
const arn = z.string().regex(/^arn:aws[a-z-]*:[a-z0-9-]+:/, "must be an ARN");
const positiveInt = (fallback: string, max: number) =>
  z
    .string()
    .regex(/^[1-9][0-9]{0,9}$/, "must be a positive integer")
    .default(fallback)
    .transform(Number)
    .pipe(z.number().max(max));

/**
 * Every variable a phigate function reads. Values are strings (as Lambda delivers them); the database and key
 * variables are present only for functions whose capabilities include them.
 */
export const lambdaEnvSchema = z.object({
  /** The function's id (a route id, `task-<name>` or a scheduled function): it refuses to start under another's. */
  PHIGATE_FUNCTION_ID: name,
  /** DynamoDB table of session items, chain entries, the chain head and idempotency items. */
  PHIGATE_SESSIONS_TABLE: name,
  /** S3 bucket (Object Lock, compliance mode) of stored results. */
  PHIGATE_RESULTS_BUCKET: name,
  /** KMS key that encrypts stored results (SSE-KMS). */
  PHIGATE_DATA_KEY_ARN: arn,
  /** JSON array of trusted issuers (`shared/identity/issuers.ts`). */
  PHIGATE_ISSUERS: z.string().min(2),
  /** The policy file, relative to the function's bundle directory (it is bundled, never fetched). */
  PHIGATE_POLICY_FILE: z
    .string()
    .regex(/^[A-Za-z0-9._-]+\.ya?ml$/, "must be a file name next to the bundle")
    .default("policy.yaml"),
  /** SHA-256 of the policy file the stack was synthesized with: the function refuses any other. */
  PHIGATE_POLICY_DIGEST: z.string().regex(/^[0-9a-f]{64}$/, "must be a SHA-256 hex digest"),
  /** Longest lifetime of a presigned result link, seconds. */
  PHIGATE_RESULT_URL_MAX_TTL_SECONDS: positiveInt("900", 43_200),
  /** Rows per page read from the database. */
  PHIGATE_PAGE_SIZE: positiveInt("500", 10_000),
  /** Largest result returned inline (bytes of serialized rows); Lambda answers at most 6 MB. */
  PHIGATE_INLINE_MAX_BYTES: positiveInt("1000000", 4_000_000),
  /** How long an idempotency key is remembered, seconds (DynamoDB TTL). */
  PHIGATE_IDEMPOTENCY_TTL_SECONDS: positiveInt("604800", 31_536_000),
  /** The keeper fails sessions still `running` this long after they were recorded (longer than any function lives). */
  PHIGATE_ORPHAN_AFTER_SECONDS: positiveInt("900", 86_400),
  PHIGATE_LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /** Aurora cluster ARN (Data API), for functions with the `database` capability. */
  PHIGATE_DB_CLUSTER_ARN: arn.optional(),
  /** Secrets Manager ARN of the database credentials the Data API uses. */
  PHIGATE_DB_SECRET_ARN: arn.optional(),
  PHIGATE_DB_NAME: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/)
    .optional(),
  /** Secrets Manager ARN of the key material (`secrets-key-provider.ts`), for the `keys` capability. */
  PHIGATE_KEYS_SECRET_ARN: arn.optional(),
  /** DynamoDB table of approval requests, for the `approvals` capability. */
  PHIGATE_APPROVALS_TABLE: name.optional(),
  /** The approval state machine, for `workflow: start`. */
  PHIGATE_STATE_MACHINE_ARN: arn.optional(),
  /** The evidence-build state machine, for `evidenceJobs: start`. */
  PHIGATE_EVIDENCE_MACHINE_ARN: arn.optional(),
  /** SNS topic the approvers subscribe to, for `notify`. */
  PHIGATE_APPROVERS_TOPIC_ARN: arn.optional(),
  /** S3 bucket (Object Lock) of evidence bundles and archived policies, for `evidence` and `policyArchive`. */
  PHIGATE_EVIDENCE_BUCKET: name.optional(),
  /** The asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY) that signs manifests, for `evidence`. */
  PHIGATE_SIGNING_KEY_ARN: arn.optional(),
  /** The gateway's public base URL (approval links, cookies, Origin check), for `publicUrl`. */
  PHIGATE_PUBLIC_URL: z.url().optional(),
  /** JSON `{issuer, authorizationEndpoint, tokenEndpoint, clientId}`: where approvers sign in (absent: pages 503). */
  PHIGATE_APPROVER_OIDC: z.string().optional(),
  /** Secrets Manager ARN of the approver OIDC client secret (confidential clients), for `signIn: exchange`. */
  PHIGATE_APPROVER_CLIENT_SECRET_ARN: arn.optional(),
  /** Powertools: the service name on logs, metrics and traces. */
  POWERTOOLS_SERVICE_NAME: name.optional(),
  /** Powertools: the CloudWatch metrics namespace. */
  POWERTOOLS_METRICS_NAMESPACE: name.optional(),
});

/** The environment as the CDK stack writes it (every value a string; defaults may be left out). */
export type LambdaEnvironment = z.input<typeof lambdaEnvSchema>;

/** The database part of the configuration. */
export interface DatabaseConfig {
  readonly clusterArn: string;
  readonly secretArn: string;
  readonly database: string;
}

/** Where approvers sign in (the redirect URI is derived from the public URL). */
export type ApproverOidcConfig = Omit<ApproverSignIn, "redirectUri" | "clientSecret">;

/** A function's validated configuration. */
export interface LambdaConfig {
  readonly functionId: string;
  readonly capabilities: FunctionCapabilities;
  readonly sessionsTable: string;
  readonly resultsBucket: string;
  readonly dataKeyArn: string;
  readonly issuers: readonly TrustedIssuer[];
  readonly policyFile: string;
  readonly policyDigest: string;
  readonly resultUrlMaxTtlSeconds: number;
  readonly pageSize: number;
  readonly inlineMaxBytes: number;
  readonly idempotencyTtlSeconds: number;
  readonly logLevel: LogLevel;
  readonly orphanAfterSeconds: number;
  readonly database: DatabaseConfig | undefined;
  readonly keysSecretArn: string | undefined;
  readonly approvalsTable: string | undefined;
  readonly stateMachineArn: string | undefined;
  readonly evidenceMachineArn: string | undefined;
  readonly approversTopicArn: string | undefined;
  readonly evidenceBucket: string | undefined;
  readonly signingKeyArn: string | undefined;
  readonly publicUrl: string | undefined;
  readonly approverOidc: ApproverOidcConfig | undefined;
  readonly approverClientSecretArn: string | undefined;
}

/**
 * Builds a function's `environment` prop: typed by the schema, with the variables its capabilities need
 * checked at synth time (values may be CDK tokens, so only presence is checked here).
 */
export function lambdaEnvironment(
  environment: LambdaEnvironment,
  capabilities: FunctionCapabilities,
): Record<string, string> {
  const missing = requiredVariables(capabilities).filter((key) => environment[key] === undefined);
  if (missing.length > 0) {
    throw new ConfigurationError(
      `${environment.PHIGATE_FUNCTION_ID}: missing environment ${missing.join(", ")}`,
    );
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(environment)) if (value !== undefined) out[key] = value;
  return out;
}

function requiredVariables(capabilities: FunctionCapabilities): (keyof LambdaEnvironment)[] {
  return [
    ...(capabilities.database
      ? (["PHIGATE_DB_CLUSTER_ARN", "PHIGATE_DB_SECRET_ARN", "PHIGATE_DB_NAME"] as const)
      : []),
    ...(capabilities.keys ? (["PHIGATE_KEYS_SECRET_ARN"] as const) : []),
    ...(capabilities.approvals !== "none" ? (["PHIGATE_APPROVALS_TABLE"] as const) : []),
    ...(capabilities.workflow === "start" ? (["PHIGATE_STATE_MACHINE_ARN"] as const) : []),
    ...(capabilities.notify ? (["PHIGATE_APPROVERS_TOPIC_ARN"] as const) : []),
    ...(capabilities.evidence ||
    capabilities.policyArchive !== "none" ||
    capabilities.evidenceJobs === "start" ||
    capabilities.log === "sequence"
      ? (["PHIGATE_EVIDENCE_BUCKET"] as const)
      : []),
    ...(capabilities.evidenceJobs === "start" ? (["PHIGATE_EVIDENCE_MACHINE_ARN"] as const) : []),
    ...(capabilities.evidence || capabilities.log !== "none" ? (["PHIGATE_SIGNING_KEY_ARN"] as const) : []),
    ...(capabilities.publicUrl ? (["PHIGATE_PUBLIC_URL"] as const) : []),
  ];
}

const approverOidcSchema = approverSignInSchema.omit({ redirectUri: true, clientSecret: true });

function parseApproverOidc(json: string | undefined): ApproverOidcConfig | undefined {
  return parseJsonSetting("PHIGATE_APPROVER_OIDC", json, approverOidcSchema);
}

/**
 * Validates the environment at cold start for the entry point a function serves; throws `ConfigurationError` naming
 * the bad variable. A function configured for another entry point refuses to start.
 */
export function lambdaConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  entry: Pick<EntryDeclaration, "id" | "capabilities">,
): LambdaConfig {
  // Once per container: interpreted, not compiled (zod compiles a fast path per object schema on its first parse).
  const parsed = lambdaEnvSchema.safeParse(env, { jitless: true });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigurationError(`${issue?.path.join(".") ?? "environment"}: ${issue?.message ?? "invalid"}`);
  }
  const e = parsed.data;
  if (e.PHIGATE_FUNCTION_ID !== entry.id) {
    throw new ConfigurationError(
      `this entry serves ${entry.id} but is configured for ${e.PHIGATE_FUNCTION_ID}`,
    );
  }
  const capabilities = fullCapabilities(entry.capabilities);
  const missing = requiredVariables(capabilities).filter((key) => e[key] === undefined);
  if (missing.length > 0) throw new ConfigurationError(`${missing.join(", ")}: required for this function`);
  const issuers = parseTrustedIssuers(e.PHIGATE_ISSUERS);
  if (issuers.length === 0) throw new ConfigurationError("PHIGATE_ISSUERS: at least one issuer is required");
  const database =
    e.PHIGATE_DB_CLUSTER_ARN !== undefined &&
    e.PHIGATE_DB_SECRET_ARN !== undefined &&
    e.PHIGATE_DB_NAME !== undefined
      ? {
          clusterArn: e.PHIGATE_DB_CLUSTER_ARN,
          secretArn: e.PHIGATE_DB_SECRET_ARN,
          database: e.PHIGATE_DB_NAME,
        }
      : undefined;
  return {
    functionId: e.PHIGATE_FUNCTION_ID,
    capabilities,
    sessionsTable: e.PHIGATE_SESSIONS_TABLE,
    resultsBucket: e.PHIGATE_RESULTS_BUCKET,
    dataKeyArn: e.PHIGATE_DATA_KEY_ARN,
    issuers,
    policyFile: e.PHIGATE_POLICY_FILE,
    policyDigest: e.PHIGATE_POLICY_DIGEST,
    resultUrlMaxTtlSeconds: e.PHIGATE_RESULT_URL_MAX_TTL_SECONDS,
    pageSize: e.PHIGATE_PAGE_SIZE,
    inlineMaxBytes: e.PHIGATE_INLINE_MAX_BYTES,
    idempotencyTtlSeconds: e.PHIGATE_IDEMPOTENCY_TTL_SECONDS,
    logLevel: e.PHIGATE_LOG_LEVEL,
    orphanAfterSeconds: e.PHIGATE_ORPHAN_AFTER_SECONDS,
    database,
    keysSecretArn: e.PHIGATE_KEYS_SECRET_ARN,
    approvalsTable: e.PHIGATE_APPROVALS_TABLE,
    stateMachineArn: e.PHIGATE_STATE_MACHINE_ARN,
    evidenceMachineArn: e.PHIGATE_EVIDENCE_MACHINE_ARN,
    approversTopicArn: e.PHIGATE_APPROVERS_TOPIC_ARN,
    evidenceBucket: e.PHIGATE_EVIDENCE_BUCKET,
    signingKeyArn: e.PHIGATE_SIGNING_KEY_ARN,
    publicUrl: e.PHIGATE_PUBLIC_URL?.replace(/\/+$/, ""),
    approverOidc: parseApproverOidc(e.PHIGATE_APPROVER_OIDC),
    approverClientSecretArn: e.PHIGATE_APPROVER_CLIENT_SECRET_ARN,
  };
}
