// The policy's parsed copy, made at synth beside its YAML and bound to the text's digest: a start needs no YAML parser.

import { sha256Hex } from "#shared/crypto/digest.ts";
import { ConfigurationError } from "#shared/errors.ts";
import { type LoadedPolicy, validatePolicy } from "#shared/policy/validate.ts";

/** The copy's format tag: a copy of any other format is refused. */
export const PARSED_POLICY_FORMAT = "phigate-parsed-policy/1";

/** What the copy holds: the YAML's parsed data (not yet validated) and the SHA-256 of the exact text it came from. */
export interface ParsedPolicyCopy {
  readonly format: typeof PARSED_POLICY_FORMAT;
  readonly policyDigest: string;
  readonly data: unknown;
}

/** The copy's file name beside the policy file it was parsed from. */
export function parsedPolicyFile(policyFile: string): string {
  return `${policyFile}.json`;
}

/**
 * The policy `text` as its parsed copy `copyJson` gives it, validated with the same schema as a parse of the YAML.
 * Refuses a copy that is not of this format or was not made from exactly this text (its digest differs).
 */
export function policyFromParsedCopy(text: string, copyJson: string, source: string): LoadedPolicy {
  let copy: Partial<ParsedPolicyCopy> | null;
  try {
    copy = JSON.parse(copyJson) as Partial<ParsedPolicyCopy> | null;
  } catch (cause) {
    throw new ConfigurationError(`${source}: the parsed copy is not JSON`, { cause });
  }
  if (typeof copy !== "object" || copy === null || copy.format !== PARSED_POLICY_FORMAT) {
    throw new ConfigurationError(`${source}: the parsed copy is not in the ${PARSED_POLICY_FORMAT} format`);
  }
  if (copy.policyDigest !== sha256Hex(text)) {
    throw new ConfigurationError(`${source}: the parsed copy was not made from this policy text`);
  }
  return validatePolicy(copy.data, text, source);
}
