// Reading web `Request`s: headers, query and path parameters, JSON and form bodies with limits, validated with zod.

import type { z } from "zod";
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from "#shared/errors.ts";

/** Largest accepted request body, in bytes. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Largest accepted form body, in bytes. */
export const MAX_FORM_BYTES = 16 * 1024;

/** What a route handler is told beside the request: its path parameters and where the request came from. */
export interface RouteContext {
  /** The route's `{name}` segments, decoded. */
  readonly pathParameters: Readonly<Record<string, string>>;
  /** The caller's address as the host saw it (API Gateway's `sourceIp`, the socket's remote address locally). */
  readonly sourceIp: string | null;
}

/** A header value by (case-insensitive) name. */
export function header(request: Request, name: string): string | undefined {
  return request.headers.get(name) ?? undefined;
}

/** A query parameter; a name given several times reads as its values joined by `,` (as API Gateway joins them). */
export function queryParameter(request: Request, name: string): string | undefined {
  const values = new URL(request.url).searchParams.getAll(name);
  return values.length === 0 ? undefined : values.join(",");
}

/** A path parameter (always present when the route matched). */
export function pathParameter(context: RouteContext, name: string): string {
  const value = context.pathParameters[name];
  if (value === undefined || value === "")
    throw new BadRequestError("invalid_request", `missing path parameter ${name}`);
  return value;
}

/** `value` validated by `schema`; a failure is `400 invalid_request` naming the first issue's path (or `what`). */
export function validated<S extends z.ZodType>(value: unknown, schema: S, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined || issue.path.length === 0 ? what : issue.path.join(".");
    throw new BadRequestError("invalid_request", `${path}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/** The JSON body validated by `schema`; 413 when too large, 415 when not JSON, 400 when invalid. */
export async function jsonBody<S extends z.ZodType>(request: Request, schema: S): Promise<z.infer<S>> {
  const contentType = header(request, "content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new UnsupportedMediaTypeError("the request body must be application/json");
  }
  const text = await request.text();
  if (Buffer.byteLength(text, "utf8") > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`the request body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequestError("invalid_json", "the request body is not valid JSON");
  }
  return validated(value, schema, "body");
}

/**
 * An `application/x-www-form-urlencoded` body validated by `schema` (each field once); 413 when too large, 415 when
 * not a form, 400 when invalid.
 */
export async function formBody<S extends z.ZodType>(request: Request, schema: S): Promise<z.infer<S>> {
  const contentType = header(request, "content-type") ?? "";
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType)) {
    throw new UnsupportedMediaTypeError(
      "the request body must be a form (application/x-www-form-urlencoded)",
    );
  }
  const text = await request.text();
  if (Buffer.byteLength(text, "utf8") > MAX_FORM_BYTES) {
    throw new PayloadTooLargeError(`the form is larger than ${MAX_FORM_BYTES} bytes`);
  }
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (name in fields) throw new BadRequestError("invalid_request", `the form field ${name} appears twice`);
    fields[name] = value;
  }
  return validated(fields, schema, "form");
}
