// The stack's settings from CDK context (`-c key=value` or cdk.json), validated, with defaults that synth offline.

import { z } from "zod";
import { allowedClaimsSchema } from "#infra/aws/edge-authorizer.ts";

const GITHUB_ISSUER = "https://token.actions.githubusercontent.com";

const count = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** Every context key the app reads (docs/deploy.md explains each). */
export const settingsSchema = z
  .object({
    /** JWT issuer trusted at the edge and by the functions. */
    issuer: z.url().default(GITHUB_ISSUER),
    /** JWT audience the authorizer and the functions require. */
    audience: z.string().min(1).default("phigate"),
    /** The issuer's JWKS (default: GitHub's `/.well-known/jwks`, else `/.well-known/jwks.json`). */
    jwksUri: z.url().optional(),
    /** Claim carrying group names in the issuer's tokens. */
    groupsClaim: z.string().min(1).default("groups"),
    /** Object Lock (compliance mode) retention of results, days. */
    resultRetentionDays: count(30, 36_500),
    /**
     * Object Lock mode of stored results: `governance` (default) lets an operator holding s3:BypassGovernanceRetention
     * purge a result that must not exist (a masking defect) before its retention ends; `compliance` lets no one.
     */
    resultLockMode: z.enum(["governance", "compliance"]).default("governance"),
    /** Object Lock (compliance mode) retention of evidence bundles, days (6 years by default). */
    evidenceRetentionDays: count(2_190, 36_500),
    /** The policy file bundled with the functions, relative to the repository root. */
    policyFile: z.string().min(1).default("policy/demo.yaml"),
    /** Use an existing Aurora cluster (Data API enabled) instead of creating one; needs `existingSecretArn`. */
    existingClusterArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:rds:/)
      .optional(),
    /** The Secrets Manager secret the Data API signs in with (a read-only role, ideally). */
    existingSecretArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:secretsmanager:/)
      .optional(),
    /**
     * A secret `{username, password}` of a read-only role you created yourself in the stack's own cluster (instead of
     * the role the stack creates); the deploy verifies it is read-only.
     */
    readerSecretArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:secretsmanager:/)
      .optional(),
    /** The KMS key encrypting `existingSecretArn`, when it is a customer-managed key. */
    existingSecretKeyArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:kms:/)
      .optional(),
    /** Database (EHR) name. */
    databaseName: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/)
      .default("ehr"),
    /**
     * Aurora Serverless v2 capacity range (ACU). The default minimum 0.5 never pauses: a paused cluster answers the
     * first calls after it with DatabaseResumingException for up to ~15 s. Set 0 (with `databaseAutoPauseSeconds`)
     * for test accounts only.
     */
    databaseMinCapacity: z.coerce.number().min(0).max(256).default(0.5),
    databaseMaxCapacity: z.coerce.number().min(1).max(256).default(4),
    /** Idle seconds before a cluster with minimum 0 ACU pauses (300–86,400); only with `databaseMinCapacity` 0. */
    databaseAutoPauseSeconds: z.coerce.number().int().min(300).max(86_400).optional(),
    /** Comma-separated addresses subscribed by email to the operators' alarm topic. */
    alarmEmails: z
      .string()
      .transform((text) =>
        text
          .split(",")
          .map((address) => address.trim())
          .filter((address) => address.length > 0),
      )
      .pipe(z.array(z.email()).max(100))
      .default([]),
    /** Reserved concurrency of each function. */
    reservedConcurrency: count(10, 1_000),
    /** Steady-state requests per second the API accepts. */
    throttleRateLimit: count(20, 10_000),
    /** Burst of requests the API accepts. */
    throttleBurstLimit: count(40, 5_000),
    /** The gateway's public base URL (a custom domain); default: the HTTP API's own endpoint. */
    publicUrl: z.url({ protocol: /^https$/ }).optional(),
    /** Comma-separated email addresses subscribed to the approvers' SNS topic. */
    approverEmails: z
      .string()
      .transform((text) =>
        text
          .split(",")
          .map((address) => address.trim())
          .filter((address) => address.length > 0),
      )
      .pipe(z.array(z.email()).max(100))
      .default([]),
    /** Approver sign-in (OIDC code + PKCE): the provider's issuer, as in its ID tokens' `iss`. */
    approverIssuer: z.url({ protocol: /^https$/ }).optional(),
    /** The gateway's client id at the approver provider (ID tokens carry it as `aud`). */
    approverClientId: z.string().min(1).optional(),
    approverAuthorizationEndpoint: z.url({ protocol: /^https$/ }).optional(),
    approverTokenEndpoint: z.url({ protocol: /^https$/ }).optional(),
    /** The provider's JWKS (default `<approverIssuer>/.well-known/jwks.json`). */
    approverJwksUri: z.url({ protocol: /^https$/ }).optional(),
    /** Claim carrying the approver's groups (policy roles match on it). */
    approverGroupsClaim: z.string().min(1).default("groups"),
    /** Secrets Manager secret holding the client secret of a confidential client (plain, or JSON `clientSecret`). */
    approverClientSecretArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:secretsmanager:/)
      .optional(),
    /** The customer-managed KMS key encrypting `approverClientSecretArn`, if any. */
    approverClientSecretKeyArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:kms:/)
      .optional(),
    /**
     * Claims a token must carry at the edge, as JSON (`{"repository_owner_id":["123"]}`): a Lambda authorizer verifies
     * the token and requires each claim to hold one of its values before any route runs. Absent: the JWT authorizer.
     */
    allowedClaims: z
      .union([
        z.string().transform((text, ctx) => {
          try {
            return JSON.parse(text) as unknown;
          } catch {
            ctx.addIssue({ code: "custom", message: "must be JSON" });
            return z.NEVER;
          }
        }),
        z.record(z.string(), z.unknown()),
      ])
      .pipe(allowedClaimsSchema)
      .optional(),
    /** When the nightly evidence bundle of the previous UTC day is written (`HH:MM`, UTC). */
    nightlyEvidenceAt: z
      .string()
      .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/)
      .default("00:30"),
  })
  .refine((s) => (s.databaseMinCapacity === 0) === (s.databaseAutoPauseSeconds !== undefined), {
    message: "databaseMinCapacity 0 (auto-pause) and databaseAutoPauseSeconds go together",
    path: ["databaseAutoPauseSeconds"],
  })
  .refine((s) => s.databaseMaxCapacity >= s.databaseMinCapacity, {
    message: "databaseMaxCapacity must be at least databaseMinCapacity",
    path: ["databaseMaxCapacity"],
  })
  .refine((s) => (s.existingClusterArn === undefined) === (s.existingSecretArn === undefined), {
    message: "existingClusterArn and existingSecretArn go together",
    path: ["existingClusterArn"],
  })
  .refine(
    (s) =>
      new Set(
        [s.approverIssuer, s.approverClientId, s.approverAuthorizationEndpoint, s.approverTokenEndpoint].map(
          (v) => v === undefined,
        ),
      ).size === 1,
    {
      message:
        "approverIssuer, approverClientId, approverAuthorizationEndpoint and approverTokenEndpoint go together",
      path: ["approverIssuer"],
    },
  )
  .refine((s) => s.approverClientSecretArn === undefined || s.approverIssuer !== undefined, {
    message: "approverClientSecretArn needs the approver sign-in keys",
    path: ["approverClientSecretArn"],
  });

/** Validated settings. */
export type Settings = z.infer<typeof settingsSchema>;

/** Reads the settings from a construct's context; throws naming the bad key. */
export function readSettings(tryGetContext: (key: string) => unknown): Settings {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(settingsSchema.shape)) {
    const value = tryGetContext(key);
    if (value !== undefined && value !== "") raw[key] = value;
  }
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`context ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/** Where the functions fetch the issuer's signing keys. */
export function jwksUriOf(settings: Settings): string {
  if (settings.jwksUri !== undefined) return settings.jwksUri;
  const base = settings.issuer.replace(/\/$/, "");
  return base === GITHUB_ISSUER ? `${base}/.well-known/jwks` : `${base}/.well-known/jwks.json`;
}

/** The approver sign-in provider from the settings, or undefined when none is configured. */
export function approverProviderOf(settings: Settings):
  | {
      readonly issuer: string;
      readonly clientId: string;
      readonly authorizationEndpoint: string;
      readonly tokenEndpoint: string;
      readonly jwksUri: string;
      readonly groupsClaim: string;
    }
  | undefined {
  const { approverIssuer, approverClientId, approverAuthorizationEndpoint, approverTokenEndpoint } = settings;
  if (
    approverIssuer === undefined ||
    approverClientId === undefined ||
    approverAuthorizationEndpoint === undefined ||
    approverTokenEndpoint === undefined
  )
    return undefined;
  return {
    issuer: approverIssuer,
    clientId: approverClientId,
    authorizationEndpoint: approverAuthorizationEndpoint,
    tokenEndpoint: approverTokenEndpoint,
    jwksUri: settings.approverJwksUri ?? `${approverIssuer.replace(/\/$/, "")}/.well-known/jwks.json`,
    groupsClaim: settings.approverGroupsClaim,
  };
}
