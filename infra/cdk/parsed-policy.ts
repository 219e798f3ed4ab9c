// Makes the policy's parsed copy at synth (bundled beside the YAML, which stays what is archived and cited).

import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { BUNDLED_POLICY_FILE } from "#infra/cdk/constructs/gateway-function.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { ConfigurationError } from "#shared/errors.ts";
import { parsePolicyYaml } from "#shared/policy/load.ts";
import { PARSED_POLICY_FORMAT, type ParsedPolicyCopy, parsedPolicyFile } from "#shared/policy/parsed-copy.ts";
import { validatePolicy } from "#shared/policy/validate.ts";

/**
 * The parsed copy of policy `text` as JSON text. Refuses an invalid policy, and one whose parsed data JSON does not
 * carry exactly (a value JSON has no form for), so a start validates the very data the YAML parses to.
 */
export function parsedPolicyCopy(text: string, source: string): string {
  const data = parsePolicyYaml(text, source);
  const copy: ParsedPolicyCopy = { format: PARSED_POLICY_FORMAT, policyDigest: sha256Hex(text), data };
  const json = JSON.stringify(copy);
  if (!isDeepStrictEqual((JSON.parse(json) as ParsedPolicyCopy).data, data)) {
    throw new ConfigurationError(`${source}: the policy holds a value JSON cannot carry`);
  }
  validatePolicy(data, text, source);
  return json;
}

/** Puts the policy at `policyPath` and its parsed copy into the bundle directory `dir` (bench and test bundles). */
export function writeBundledPolicy(policyPath: string, dir: string): void {
  const text = readFileSync(policyPath, "utf8");
  copyFileSync(policyPath, join(dir, BUNDLED_POLICY_FILE));
  writeFileSync(join(dir, parsedPolicyFile(BUNDLED_POLICY_FILE)), parsedPolicyCopy(text, policyPath));
}

/**
 * Writes policy `text`'s parsed copy into `dir` (the synth's output directory), named by the text's digest, for the
 * functions' bundling to copy beside the policy; returns its path.
 */
export function stageParsedPolicy(dir: string, text: string, source: string): string {
  const copy = parsedPolicyCopy(text, source);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `phigate-policy.${sha256Hex(text).slice(0, 16)}.json`);
  writeFileSync(path, copy);
  return path;
}
