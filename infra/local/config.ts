// The local host's configuration, from the environment, validated at start-up.

import { resolve } from "node:path";
import * as z from "zod";
import type { MailAddresses } from "#shared/approval/email-message.ts";
import { ConfigurationError } from "#shared/errors.ts";
import { parseTrustedIssuers, type TrustedIssuer } from "#shared/identity/issuers.ts";
import { parseJsonSetting } from "#shared/json-setting.ts";
import type { LogLevel } from "#shared/log.ts";
import { type ApproverSignIn, approverSignInSchema } from "#shared/web/oidc-client.ts";

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8787),
  PHIGATE_HOST: z.string().default("127.0.0.1"),
  DATA_DIR: z.string().min(1).default("./.phigate"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .optional(),
  PHIGATE_POLICY: z.string().min(1).default("policy/demo.yaml"),
  PHIGATE_MODE: z.enum(["development", "production"]).default("development"),
  PHIGATE_ISSUERS: z.string().optional(),
  PHIGATE_AUDIENCE: z.string().min(1).default("phigate"),
  PHIGATE_LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  PHIGATE_PUBLIC_URL: z.url().optional(),
  PHIGATE_APPROVAL_WEBHOOK_URL: z.url().optional(),
  PHIGATE_APPROVAL_MAIL_FROM: z.string().min(3).max(256).default("phigate <phigate@localhost>"),
  PHIGATE_APPROVAL_MAIL_TO: z.string().min(3).max(1_000).default("PHI approvers <phi-approvers@localhost>"),
  PHIGATE_APPROVER_OIDC: z.string().optional(),
  /** Longest wait before a batch of log entries is checkpointed (ms); the merge delay target is 1 s. */
  PHIGATE_LOG_BATCH_MS: z.coerce.number().int().min(10).max(1_000).default(250),
});

/** Where approvers sign in when the dev IdP is off (`PHIGATE_APPROVER_OIDC`, JSON). */
const approverOidcSchema = approverSignInSchema.omit({ redirectUri: true });

/** The local host's configuration. */
export interface LocalConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly policyPath: string;
  /** `development` runs the dev IdP; `production` trusts only PHIGATE_ISSUERS. */
  readonly mode: "development" | "production";
  readonly issuers: readonly TrustedIssuer[];
  readonly audience: string;
  readonly logLevel: LogLevel;
  /** Base URL for links in notifications (defaults to the listening address). */
  readonly publicUrl: string | undefined;
  /** Longest wait before accepted entries are checkpointed by the log sequencer (ms, default 250). */
  readonly logBatchMs?: number;
  /** A Slack-compatible webhook told about every approval request (optional; failures are logged). */
  readonly approvalWebhookUrl?: string | undefined;
  /** Sender and recipients of the `.eml` notifications in DATA_DIR/outbox. */
  readonly approvalMail?: MailAddresses | undefined;
  /**
   * The OIDC provider approvers sign in with, when the dev IdP is off; its issuer must be in PHIGATE_ISSUERS with
   * `clientId` among its audiences (the same verifier checks the ID tokens).
   */
  readonly approverSignIn?: Omit<ApproverSignIn, "redirectUri"> | undefined;
}

function parseApproverOidc(json: string | undefined): Omit<ApproverSignIn, "redirectUri"> | undefined {
  return parseJsonSetting("PHIGATE_APPROVER_OIDC", json, approverOidcSchema);
}

/** Reads and validates the configuration; throws `ConfigurationError` naming the bad variable. */
export function localConfigFromEnv(env: NodeJS.ProcessEnv): LocalConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigurationError(`${issue?.path.join(".") ?? "environment"}: ${issue?.message ?? "invalid"}`);
  }
  const e = parsed.data;
  if (e.PHIGATE_MODE === "development" && e.PHIGATE_HOST !== "127.0.0.1" && e.PHIGATE_HOST !== "localhost") {
    throw new ConfigurationError("development mode (with its dev IdP) listens on 127.0.0.1 only");
  }
  const issuers = parseTrustedIssuers(e.PHIGATE_ISSUERS);
  if (e.PHIGATE_MODE === "production" && issuers.length === 0) {
    throw new ConfigurationError("production mode needs PHIGATE_ISSUERS (the dev IdP is off)");
  }
  return {
    host: e.PHIGATE_HOST,
    port: e.PORT,
    dataDir: resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    policyPath: resolve(e.PHIGATE_POLICY),
    mode: e.PHIGATE_MODE,
    issuers,
    audience: e.PHIGATE_AUDIENCE,
    logLevel: e.PHIGATE_LOG_LEVEL,
    publicUrl: e.PHIGATE_PUBLIC_URL,
    approvalWebhookUrl: e.PHIGATE_APPROVAL_WEBHOOK_URL,
    approvalMail: { from: e.PHIGATE_APPROVAL_MAIL_FROM, to: e.PHIGATE_APPROVAL_MAIL_TO },
    approverSignIn: parseApproverOidc(e.PHIGATE_APPROVER_OIDC),
    logBatchMs: e.PHIGATE_LOG_BATCH_MS,
  };
}
