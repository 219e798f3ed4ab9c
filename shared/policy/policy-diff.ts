// A readable difference between two policies, rule by rule, with the changes to masking and grants singled out.

import { canonicalJson } from "#shared/crypto/canonical-json.ts";
import type { PolicyDocument } from "#shared/policy/schema.ts";

/** What part of the policy a difference touches. */
export type PolicyArea = "masking" | "grants" | "identity" | "review" | "limits" | "other";

/** One difference: a rule added, removed or changed (values as compact JSON). */
export interface PolicyDifference {
  readonly path: string;
  readonly change: "added" | "removed" | "changed";
  readonly area: PolicyArea;
  readonly before: string | undefined;
  readonly after: string | undefined;
}

/** Areas whose change alters what leaves the gateway, or to whom: an auditor's first finding. */
export const SIGNIFICANT_AREAS: ReadonlySet<PolicyArea> = new Set(["masking", "grants", "identity"]);

/** Arrays whose items carry an `id` are compared item by item under that id. */
function keyed(value: readonly unknown[]): Map<string, unknown> | undefined {
  const byId = new Map<string, unknown>();
  for (const item of value) {
    const id = (item as { id?: unknown } | null)?.id;
    if (typeof id !== "string" || byId.has(id)) return undefined;
    byId.set(id, item);
  }
  return byId;
}

const LEAF_DEPTH = 3;

/** Flattens a document to `path → value`: objects by key, id-keyed arrays by id, other arrays whole. */
function flatten(value: unknown, path: string, depth: number, out: Map<string, unknown>): void {
  if (value === undefined) return;
  if (Array.isArray(value)) {
    const byId = depth < LEAF_DEPTH ? keyed(value) : undefined;
    if (byId === undefined || value.length === 0) out.set(path, value);
    else for (const [id, item] of byId) flatten(item, `${path}[${id}]`, depth + 1, out);
    return;
  }
  if (value !== null && typeof value === "object" && depth < LEAF_DEPTH) {
    for (const [key, member] of Object.entries(value)) {
      const segment = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${key}]`;
      flatten(member, path === "" ? segment.replace(/^\./, "") : `${path}${segment}`, depth + 1, out);
    }
    return;
  }
  out.set(path, value);
}

function areaOf(path: string): PolicyArea {
  if (path.startsWith("masking") || /^principals\[[^\]]+\]\.masking/.test(path)) return "masking";
  if (/^principals\[[^\]]+\]\.limits/.test(path) || path.startsWith("defaults")) return "limits";
  if (path.startsWith("principals") || path.startsWith("functions")) return "grants";
  if (path.startsWith("issuers")) return "identity";
  if (path.startsWith("roles") || path.startsWith("risk") || path.startsWith("approval")) return "review";
  return "other";
}

/**
 * The differences from `before` to `after` (validated documents, so defaults count as written): every rule added,
 * removed or changed, in path order. Descriptions are ignored (they decide nothing).
 */
export function diffPolicies(before: PolicyDocument, after: PolicyDocument): PolicyDifference[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  flatten(before, "", 0, a);
  flatten(after, "", 0, b);
  const paths = [...new Set([...a.keys(), ...b.keys()])].filter((p) => !/(^|\.)description$/.test(p)).sort();
  const differences: PolicyDifference[] = [];
  for (const path of paths) {
    const was = a.has(path) ? canonicalJson(a.get(path)) : undefined;
    const now = b.has(path) ? canonicalJson(b.get(path)) : undefined;
    if (was === now) continue;
    differences.push({
      path,
      change: was === undefined ? "added" : now === undefined ? "removed" : "changed",
      area: areaOf(path),
      before: was,
      after: now,
    });
  }
  return differences;
}

/** One line per difference, e.g. `- masking.rules[public.patients.ssn]: {"strategy":"redact"} (removed)`. */
export function describeDifference(d: PolicyDifference): string {
  if (d.change === "added") return `+ ${d.path}: ${d.after}`;
  if (d.change === "removed") return `- ${d.path}: ${d.before} (removed)`;
  return `~ ${d.path}: ${d.before} → ${d.after}`;
}
