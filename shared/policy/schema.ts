// The policy file's schema (zod; policy/policy.schema.json is generated from it): who may run what, under which limits.

import * as z from "zod";
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
  /** A statement whose planner cost (EXPLAIN's total cost) exceeds this is refused before it runs. */
  maxPlannerCost: z.number().positive().optional(),
  /** Sustained request rate allowed per caller. */
  requestsPerMinute: z.number().int().positive().max(1_000_000).optional(),
  /** Requests a caller may send at once above the sustained rate. */
  burst: z.number().int().positive().max(100_000).optional(),
});

const ruleId = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "ids are lower-case kebab-case");

/** Keys of a rule's `when` that qualify a condition rather than being one. */
/** The longest window a risk rule may count a caller's reads over (the read ledger keeps a day). */
export const MAX_WINDOW_SECONDS = 86_400;

const QUALIFIERS: ReadonlySet<string> = new Set([
  "unlessLimitAtMost",
  "restrictedRowsAtMost",
  "windowSeconds",
]);

/** Conditions of a risk rule; every condition given must hold for the rule to fire. */
export const riskConditionsSchema = z
  .strictObject({
    /** A PHI table (one with masked or detector columns) is read with no predicate on any of its columns. */
    phiTableWithoutPredicate: z.literal(true).optional(),
    /** With `phiTableWithoutPredicate`: an outermost constant LIMIT of at most this many rows counts as restrictive. */
    unlessLimitAtMost: z.number().int().positive().optional(),
    /** More than this many protected values flow into each result row (`p0.ssn, p1.ssn` are two). */
    phiColumnsOver: z.number().int().nonnegative().optional(),
    /** The planner estimates more than this many rows (EXPLAIN, never ANALYZE). */
    estimatedRowsOver: z.number().int().nonnegative().optional(),
    /** All these tables are read together and none of them carries a predicate (e.g. patients with their full history). */
    joinWithoutPredicate: z.array(qualifiedTable).min(2).optional(),
    /**
     * With `phiTableWithoutPredicate` / `joinWithoutPredicate`: a predicate restricts only when the planner
     * estimates at most this many rows (or it looks up a protected value); also the PHI rows a principal may
     * take in slices per window without approval, from all PHI tables together. Default: `unlessLimitAtMost`, else 1000.
     */
    restrictedRowsAtMost: z.number().int().positive().optional(),
    /** The window, in seconds, over which a principal's PHI reads of a table add up to one read (default 3600, at most a day). */
    windowSeconds: z.number().int().positive().max(MAX_WINDOW_SECONDS).optional(),
    /** The request gives no `purpose`. */
    noPurpose: z.literal(true).optional(),
  })
  .refine((w) => Object.keys(w).some((k) => !QUALIFIERS.has(k)), {
    message: "a rule needs at least one condition",
  })
  .refine(
    (w) =>
      (w.restrictedRowsAtMost === undefined && w.windowSeconds === undefined) ||
      w.phiTableWithoutPredicate === true ||
      w.joinWithoutPredicate !== undefined,
    {
      message:
        "restrictedRowsAtMost and windowSeconds only qualify phiTableWithoutPredicate or joinWithoutPredicate",
    },
  )
  .refine((w) => w.unlessLimitAtMost === undefined || w.phiTableWithoutPredicate === true, {
    message: "unlessLimitAtMost only qualifies phiTableWithoutPredicate",
  });

/** A risk rule: turns an otherwise allowed statement into one that needs approval (or is denied). */
export const riskRuleSchema = z.strictObject({
  id: ruleId,
  description: z.string().min(1),
  /** Principal entry ids the rule applies to (default: every principal). */
  principals: z.array(ruleId).min(1).optional(),
  action: z.enum(["require_approval", "deny"]).default("require_approval"),
  when: riskConditionsSchema,
});

/** A risk rule. */
export type RiskRule = z.infer<typeof riskRuleSchema>;

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
      /** A statement whose planner cost exceeds this is refused before it runs (absent: no cost limit). */
      maxPlannerCost: z.number().positive().optional(),
      requestsPerMinute: z.number().int().positive().max(1_000_000).default(600),
      burst: z.number().int().positive().max(100_000).default(60),
    })
    .prefault({}),
  principals: z.array(principalEntrySchema).default([]),
  /** Masking by column lineage, with content detectors over free-text columns (see docs/masking.md). */
  masking: maskingPolicySchema.prefault({}),
  /** Functions beyond the built-in deny list (file, program, large-object, remote, settings, sleeps, dynamic SQL). */
  functions: z
    .strictObject({
      /** More function names to deny (lower case; `schema.name` or a bare name matching any schema). */
      deny: z.array(z.string().regex(/^([a-z_][a-z0-9_$]*\.)?[a-z_][a-z0-9_$]*$/)).default([]),
      /** User-defined routines (`schema.name`) that may be called; any other is denied (its body is invisible). */
      allowUserDefined: z.array(z.string().regex(/^[a-z_][a-z0-9_$]*\.[a-z_][a-z0-9_$]*$/)).default([]),
    })
    .prefault({}),
  risk: z
    .strictObject({
      rules: z.array(riskRuleSchema).default([]),
      /** Replaced by the opacity rules (docs/masking.md): refused with a message that says so. */
      protectedColumnUse: z
        .never({
          error:
            "risk.protectedColumnUse was replaced by the opacity rules: protected values can no longer be used in predicates at all, except equality lookups allowed per column (masking.rules.<column>.lookup: allow | approval) — see docs/masking.md",
        })
        .optional(),
    })
    .prefault({}),
  approval: z
    .strictObject({
      /** How long an approval request stays open. */
      ttlSeconds: z
        .number()
        .int()
        .min(60)
        .max(7 * 24 * 3600)
        .default(3600),
    })
    .prefault({}),
  roles: z
    .strictObject({
      approvers: roleSchema.extend({ quorum: z.number().int().positive().max(10).default(1) }).optional(),
      auditors: roleSchema.optional(),
    })
    .default({}),
});

/** The whole policy file, as validated. */
export type PolicyDocument = z.infer<typeof policySchema>;
