// Loads a policy file: YAML in, a validated document with its digest out, or a loud error naming the offending path.

import { readFile } from "node:fs/promises";
import { parseDocument } from "yaml";
import { ConfigurationError } from "#shared/errors.ts";
import { type LoadedPolicy, validatePolicy } from "#shared/policy/validate.ts";

export type { LoadedPolicy } from "#shared/policy/validate.ts";

/** What policy text parses to as YAML (not yet validated); `source` names it in error messages. */
export function parsePolicyYaml(text: string, source: string): unknown {
  const yaml = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (yaml.errors.length > 0) {
    const first = yaml.errors[0];
    throw new ConfigurationError(
      `${source}: invalid YAML${first === undefined ? "" : `: ${first.message.split("\n")[0]}`}`,
    );
  }
  return yaml.toJS();
}

/** Parses and validates policy text; `source` names it in error messages. */
export function parsePolicy(text: string, source: string): LoadedPolicy {
  return validatePolicy(parsePolicyYaml(text, source), text, source);
}

/** Reads and validates a policy file. */
export async function loadPolicyFile(path: string): Promise<LoadedPolicy> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new ConfigurationError(`cannot read the policy file ${path}`, { cause });
  }
  return parsePolicy(text, path);
}
