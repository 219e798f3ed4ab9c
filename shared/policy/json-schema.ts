// The policy file's JSON Schema, generated from the zod schema (so editors and the gateway agree).

import * as z from "zod";
import { policySchema } from "#shared/policy/schema.ts";

/** The JSON Schema (draft 2020-12) of a policy file as written (defaults optional). */
export function policyJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(policySchema, { io: "input", unrepresentable: "any" }),
    $id: "https://phigate.dev/schemas/policy.schema.json",
    title: "phigate policy",
  };
}

/** The schema file's text as committed in policy/policy.schema.json. */
export function policyJsonSchemaText(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}
