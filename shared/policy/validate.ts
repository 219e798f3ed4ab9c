// Validates a policy's parsed data (from its YAML or its bundled parsed copy): the schema, then cross-references.

import { sha256Hex } from "#shared/crypto/digest.ts";
import { ConfigurationError } from "#shared/errors.ts";
import { type PolicyDocument, policySchema } from "#shared/policy/schema.ts";

/** A policy ready for evaluation. */
export interface LoadedPolicy {
  readonly document: PolicyDocument;
  /** SHA-256 of the file's exact bytes: what decisions and evidence cite. */
  readonly digest: string;
  /** The file's exact text (kept for evidence bundles). */
  readonly text: string;
  /** Where it was loaded from (for messages). */
  readonly source: string;
}

/**
 * Checks `data` (what `text` parses to) with the policy schema and the cross-references the schema cannot express
 * (unique ids, known issuer aliases and principals); `source` names it in error messages.
 */
export function validatePolicy(data: unknown, text: string, source: string): LoadedPolicy {
  // Parsed once per process: zod compiling a fast path per object schema would cost more than it saves.
  const parsed = policySchema.safeParse(data, { jitless: true });
  if (!parsed.success) {
    const lines = parsed.error.issues.slice(0, 5).map((issue) => {
      const path = issue.path.length === 0 ? "(root)" : issue.path.join(".");
      return `${source}: ${path}: ${issue.message}`;
    });
    throw new ConfigurationError(lines.join("\n"));
  }
  const ids = new Set<string>();
  for (const [index, entry] of parsed.data.principals.entries()) {
    if (ids.has(entry.id))
      throw new ConfigurationError(`${source}: principals.${index}.id: duplicate id ${entry.id}`);
    ids.add(entry.id);
    for (const issuer of entry.match.issuer) {
      if (!issuer.includes("://") && !(issuer in parsed.data.issuers)) {
        throw new ConfigurationError(
          `${source}: principals.${index}.match.issuer: unknown issuer alias ${issuer}`,
        );
      }
    }
  }
  const ruleIds = new Set<string>();
  for (const [index, rule] of parsed.data.risk.rules.entries()) {
    if (ruleIds.has(rule.id))
      throw new ConfigurationError(`${source}: risk.rules.${index}.id: duplicate id ${rule.id}`);
    ruleIds.add(rule.id);
    for (const id of rule.principals ?? []) {
      if (!ids.has(id))
        throw new ConfigurationError(`${source}: risk.rules.${index}.principals: unknown principal ${id}`);
    }
  }
  for (const [role, definition] of Object.entries(parsed.data.roles)) {
    for (const issuer of definition?.match.issuer ?? []) {
      if (!issuer.includes("://") && !(issuer in parsed.data.issuers)) {
        throw new ConfigurationError(`${source}: roles.${role}.match.issuer: unknown issuer alias ${issuer}`);
      }
    }
  }
  return { document: parsed.data, digest: sha256Hex(text), text, source };
}
