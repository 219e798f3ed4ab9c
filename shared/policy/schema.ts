// The policy file's schema (zod; policy/policy.schema.json is generated from it): who may run what, under which limits.

import { z } from "zod";
import { columnRulesSchema, maskingPolicySchema } from "#shared/masking/rules.ts";

const nonEmpty = z.string().min(1);
const oneOrMany = z
  .union([nonEmpty, z.array(nonEmpty).min(1)])
  .transform((v) => (Array.isArray(v) ? v : [v]));

/** A claim matcher: every listed field must match; within a field any listed pattern may (`*` is a wildcard). */
export const claimMatchSchema = z
  .strictObject({
    /** Issuer aliases (from `issuers`) or exact issuer URLs; required, so a subject never matches across issuers. */
    issuer: oneOrMany,
    sub: oneOrMany.optional(),
    repository: oneOrMany.optional(),
    repository_id: oneOrMany.optional(),
    repository_owner: oneOrMany.optional(),
    workflow_ref: oneOrMany.optional(),
    job_workflow_ref: oneOrMany.optional(),
    ref: oneOrMany.optional(),
    environment: oneOrMany.optional(),
    /** The caller must carry at least one of these groups. */
    groups: oneOrMany.optional(),
  })
  .refine((m) => Object.keys(m).length > 1, { message: "a match needs a condition besides the issuer" });

/** A claim matcher. */
export type ClaimMatch = z.infer<typeof claimMatchSchema>;

const qualifiedTable = z
  .string()
  .regex(
    /^[a-z_][a-z0-9_$]*\.([a-z_][a-z0-9_$]*|\*)$/,
    "tables are written schema.table (or schema.*), lower case",
  );

/** A grant: operations on tables, optionally restricted to some columns. */
export const grantSchema = z.strictObject({
  tables: z.array(qualifiedTable).min(1),
  /** `*` for every column, or the column names (of the listed tables) that may be read. */
  columns: z.union([z.literal("*"), z.array(nonEmpty).min(1)]).default("*"),
  operations: z
    .array(z.enum(["read"]))
    .min(1)
    .default(["read"]),
});

/** Limits applied to a principal's statements. */
export const limitsSchema = z.strictObject({
  maxRows: z.number().int().positive().max(10_000_000).optional(),
  statementTimeoutMs: z.number().int().positive().max(3_600_000).optional(),
});

/** One principal entry: who it is (claims) and what it may do. */
export const principalEntrySchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "ids are lower-case kebab-case"),
  description: z.string().optional(),
  match: claimMatchSchema,
  grants: z.array(grantSchema).min(1),
  limits: limitsSchema.default({}),
  /** Column rules for this principal only; where they meet the policy's rules, the stricter wins. */
  masking: columnRulesSchema.default({}),
});

/** One principal entry. */
export type PrincipalEntry = z.infer<typeof principalEntrySchema>;

/** A role held by callers matching its claims (approvers, auditors). */
export const roleSchema = z.strictObject({
  match: claimMatchSchema,
});

/** The whole policy file. */
export const policySchema = z.strictObject({
  version: z.literal(1),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "names are lower-case kebab-case"),
  description: z.string().optional(),
  /**
   * Issuer aliases usable in `match.issuer`. The value `dev-idp` stands for the local development IdP and
   * matches only while it runs (local development mode); anything else is an exact issuer URL.
   */
  issuers: z
    .record(z.string().regex(/^[a-z][a-z0-9-]*$/), z.union([z.literal("dev-idp"), z.url()]))
    .default({}),
  defaults: z
    .strictObject({
      maxRows: z.number().int().positive().max(10_000_000).default(10_000),
      statementTimeoutMs: z.number().int().positive().max(3_600_000).default(5_000),
    })
    .default({ maxRows: 10_000, statementTimeoutMs: 5_000 }),
  principals: z.array(principalEntrySchema).default([]),
  /** Masking by column lineage, with content detectors over free-text columns (see docs/masking.md). */
  masking: maskingPolicySchema.prefault({}),
  roles: z
    .strictObject({
      approvers: roleSchema.extend({ quorum: z.number().int().positive().max(10).default(1) }).optional(),
      auditors: roleSchema.optional(),
    })
    .default({}),
});

/** The whole policy file, as validated. */
export type PolicyDocument = z.infer<typeof policySchema>;
