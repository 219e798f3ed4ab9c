// What a policy protects for one principal, read with the project's own loader: rule columns and detector columns.

import type { DetectorKind } from "#shared/masking/detector-rules.ts";
import type { ColumnRule } from "#shared/masking/strategies.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import { maskingPolicyFor } from "#shared/policy/masking-policy.ts";

/** One protected base column of the demo schema and how the policy masks it for the principal. */
export interface ProtectedColumn {
  /** `schema.table.column`. */
  readonly key: string;
  readonly table: string;
  readonly column: string;
  /** The column rule (policy rules merged with the principal's own), when it has one. */
  readonly rule: ColumnRule | undefined;
  /** The semantic type equi-joins compare (`masking.rules.<col>.type`, default: the column key). */
  readonly semanticType: string;
  /** The detector kinds masked in the column's text, when it is a detector column. */
  readonly detectorKinds: readonly DetectorKind[] | undefined;
}

/** Everything the harness needs from the policy. */
export interface Protection {
  readonly principalId: string;
  /** By `schema.table.column`. */
  readonly columns: ReadonlyMap<string, ProtectedColumn>;
}

function columnParts(key: string): { schema: string; table: string; column: string } {
  const [schema = "", table = "", column = ""] = key.split(".");
  return { schema, table, column };
}

/** The `type` a rule may carry (a field newer than this harness: read without relying on the rule's type). */
function semanticTypeOf(rule: ColumnRule | undefined, key: string): string {
  const declared = (rule as { type?: unknown } | undefined)?.type;
  return typeof declared === "string" ? declared : key;
}

/**
 * The protected columns of the `public` schema for principal `principalId`: every column with a masking rule
 * (the policy's `masking.rules` merged with the principal's own) and every `masking.detectors.columns` entry.
 * Throws when the principal is not in the policy.
 */
export function protectionFor(policy: LoadedPolicy, principalId: string): Protection {
  const entry = policy.document.principals.find((p) => p.id === principalId);
  if (entry === undefined) throw new Error(`the policy has no principal ${principalId}`);
  const masking = maskingPolicyFor(policy.document, entry);
  const columns = new Map<string, ProtectedColumn>();
  const keys = new Set([...Object.keys(masking.rules), ...masking.detectors.columns]);
  for (const key of keys) {
    const { schema, table, column } = columnParts(key);
    if (schema !== "public") continue;
    const rule = masking.rules[key];
    columns.set(key, {
      key,
      table,
      column,
      rule,
      semanticType: semanticTypeOf(rule, key),
      detectorKinds: masking.detectors.columns.includes(key) ? masking.detectors.kinds : undefined,
    });
  }
  return { principalId, columns };
}
