// Settings that hold JSON (issuers, sign-in providers): parsed and validated, failing loudly with the offending path.

import type * as z from "zod";
import { ConfigurationError } from "#shared/errors.ts";

/** Parses `text` as JSON and validates it; undefined or blank → undefined; errors name the setting and the path. */
export function parseJsonSetting<S extends z.ZodType>(
  name: string,
  text: string | undefined,
  schema: S,
): z.output<S> | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ConfigurationError(`${name} is not valid JSON`, { cause });
  }
  // Settings are parsed once: interpreted, not compiled (zod compiles a fast path per object schema on first parse).
  const parsed = schema.safeParse(value, { jitless: true });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined || issue.path.length === 0 ? "" : `.${issue.path.join(".")}`;
    throw new ConfigurationError(`${name}${path}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}
