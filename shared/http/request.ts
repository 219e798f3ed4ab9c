// Reading API Gateway v2 events: headers, JSON bodies with limits, query parameters, validated with zod.

import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { z } from "zod";
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from "#shared/errors.ts";

/** Largest accepted request body, in bytes. */
export const MAX_BODY_BYTES = 256 * 1024;

/** A header value by case-insensitive name. */
export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** The JSON body validated by `schema`; 413 when too large, 415 when not JSON, 400 when invalid. */
export function jsonBody<S extends z.ZodType>(event: APIGatewayProxyEventV2, schema: S): z.infer<S> {
  const contentType = header(event, "content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new UnsupportedMediaTypeError("the request body must be application/json");
  }
  const raw = event.body ?? "";
  const text = event.isBase64Encoded ? Buffer.from(raw, "base64").toString("utf8") : raw;
  if (Buffer.byteLength(text, "utf8") > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`the request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequestError("invalid_json", "the request body is not valid JSON");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined || issue.path.length === 0 ? "body" : issue.path.join(".");
    throw new BadRequestError("invalid_request", `${path}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/**
 * An `application/x-www-form-urlencoded` body validated by `schema` (each field once); 413 when too large, 415 when
 * not a form, 400 when invalid.
 */
export function formBody<S extends z.ZodType>(event: APIGatewayProxyEventV2, schema: S): z.infer<S> {
  const contentType = header(event, "content-type") ?? "";
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType)) {
    throw new UnsupportedMediaTypeError(
      "the request body must be a form (application/x-www-form-urlencoded)",
    );
  }
  const raw = event.body ?? "";
  const text = event.isBase64Encoded ? Buffer.from(raw, "base64").toString("utf8") : raw;
  if (Buffer.byteLength(text, "utf8") > MAX_FORM_BYTES) {
    throw new PayloadTooLargeError(`the form is larger than ${MAX_FORM_BYTES} bytes`);
  }
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (name in fields) throw new BadRequestError("invalid_request", `the form field ${name} appears twice`);
    fields[name] = value;
  }
  const parsed = schema.safeParse(fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined || issue.path.length === 0 ? "form" : issue.path.join(".");
    throw new BadRequestError("invalid_request", `${path}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/** Largest accepted form body, in bytes. */
export const MAX_FORM_BYTES = 16 * 1024;

/** A path parameter (always present when the route matched). */
export function pathParameter(event: APIGatewayProxyEventV2, name: string): string {
  const value = event.pathParameters?.[name];
  if (value === undefined || value === "")
    throw new BadRequestError("invalid_request", `missing path parameter ${name}`);
  return value;
}
