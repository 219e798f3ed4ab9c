// A policy change as a chain entry of its own: which policy the host enforces from now on, which one before, who and when.

import { hostname, userInfo } from "node:os";
import * as z from "zod";
import { type SessionRecord, sessionRecordSchema } from "#shared/sessions/record.ts";

/** Schema identifier of a policy-change record; bump the suffix on an incompatible change. */
export const POLICY_CHANGE_SCHEMA = "phigate.policy-change/v1";

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const policyRef = z.strictObject({ name: z.string().max(200), digest: sha256Hex });

/** A policy change, as recorded in the chain (its entry's `recordedAt` says when). */
export const policyChangeRecordSchema = z.strictObject({
  schema: z.literal(POLICY_CHANGE_SCHEMA),
  /** The policy enforced before (the last one recorded in the chain), or null when none was recorded yet. */
  from: policyRef.nullable(),
  /** The policy enforced from now on. */
  to: policyRef,
  /** Who put it in force, as far as the host can tell. */
  by: z.strictObject({
    host: z.enum(["local", "aws"]),
    /** `os_user`: the operating-system account that started the local host; `function`: the deployed function. */
    kind: z.enum(["os_user", "function"]),
    /** e.g. `alice (uid 1000) on build-7`, or `phigate-post-query:42`. */
    name: z.string().max(300),
    /** Where the text came from (the policy file's path, the function's bundled file). */
    source: z.string().max(1000),
  }),
});

/** A policy-change record. */
export type PolicyChangeRecord = z.infer<typeof policyChangeRecordSchema>;

/** A reference to a policy in a change: its name and the SHA-256 of its exact text. */
export type PolicyRef = z.infer<typeof policyRef>;

/** Who puts a policy in force (a policy-change record's `by`). */
export type PolicyChanger = PolicyChangeRecord["by"];

/** What a chain entry holds: a version of a session record, or a policy change. */
export type ChainRecord = SessionRecord | PolicyChangeRecord;

/** Whether a chain record is a policy change (else it is a session record). */
export function isPolicyChange(record: ChainRecord): record is PolicyChangeRecord {
  return record.schema === POLICY_CHANGE_SCHEMA;
}

/** Validates a chain record of either kind (by its `schema`). */
export function parseChainRecord(value: unknown): ChainRecord {
  const schema = (value as { schema?: unknown } | null)?.schema;
  return schema === POLICY_CHANGE_SCHEMA
    ? policyChangeRecordSchema.parse(value)
    : sessionRecordSchema.parse(value);
}

/** The local host's changer: the account that started it, on this machine, from the policy file at `source`. */
export function localPolicyChanger(source: string): PolicyChanger {
  let account: string;
  try {
    const info = userInfo();
    account = `${info.username} (uid ${info.uid})`;
  } catch {
    account = `uid ${process.getuid?.() ?? "unknown"}`;
  }
  return {
    host: "local",
    kind: "os_user",
    name: `${account} on ${hostname()}`.slice(0, 300),
    source: source.slice(0, 1000),
  };
}

/** An AWS function's changer: the deployed function (name and version) that loaded its bundled policy file. */
export function functionPolicyChanger(
  functionId: string,
  source: string,
  env: NodeJS.ProcessEnv,
): PolicyChanger {
  const name = env.AWS_LAMBDA_FUNCTION_NAME ?? `phigate-${functionId}`;
  const version = env.AWS_LAMBDA_FUNCTION_VERSION ?? "$LATEST";
  return {
    host: "aws",
    kind: "function",
    name: `${name}:${version}`.slice(0, 300),
    source: source.slice(0, 1000),
  };
}

/** The policy-change record that puts `to` in force after `from`. */
export function policyChange(from: PolicyRef | null, to: PolicyRef, by: PolicyChanger): PolicyChangeRecord {
  return { schema: POLICY_CHANGE_SCHEMA, from, to, by };
}
