// Signature Version 4 verification for the loopback stand-ins: header-signed requests and presigned URLs.
// Pinned to "Create a signed AWS API request" and "Authenticating Requests: Using Query Parameters (AWS Signature
// Version 4)" in the IAM and S3 user guides: canonical request, string to sign, HMAC key chain, 15-minute skew.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** Who signed a request, and for which service and region. */
export interface SignedBy {
  readonly accessKeyId: string;
  readonly region: string;
  readonly service: string;
  /** When the signature was made (`X-Amz-Date`). */
  readonly signedAt: Date;
  readonly presigned: boolean;
}

/** A request as it arrived on the wire. */
export interface WireRequest {
  readonly method: string;
  /** The raw path and query, as sent. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

/** Why a signature was refused: the S3 and JSON services use these error codes. */
export class SignatureError extends Error {
  constructor(
    readonly code: "SignatureDoesNotMatch" | "InvalidAccessKeyId" | "RequestTimeTooSkewed" | "AccessDenied",
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

const sha256Hex = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string): Buffer => createHmac("sha256", key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it (`~` kept, everything else outside the unreserved set escaped). */
export function uriEncode(text: string, keepSlash = false): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, keepSlash ? "/" : "%2F");
}

function header(headers: WireRequest["headers"], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

function parseAmzDate(text: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (m === null) throw new SignatureError("SignatureDoesNotMatch", "malformed X-Amz-Date");
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0));
}

function canonicalQuery(query: string, omit: string | undefined): string {
  if (query === "") return "";
  return query
    .split("&")
    .filter((pair) => pair.length > 0)
    .map((pair) => {
      const at = pair.indexOf("=");
      const key = decodeURIComponent((at < 0 ? pair : pair.slice(0, at)).replace(/\+/g, "%20"));
      const value = at < 0 ? "" : decodeURIComponent(pair.slice(at + 1).replace(/\+/g, "%20"));
      return [key, value] as const;
    })
    .filter(([key]) => key !== omit)
    .map(([key, value]) => [uriEncode(key), uriEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
}

/** S3 signs the path as sent; every other service signs each segment encoded once more. */
function canonicalPath(path: string, service: string): string {
  if (service === "s3") return path === "" ? "/" : path;
  return path
    .split("/")
    .map((segment) => uriEncode(segment))
    .join("/");
}

function canonicalHeaders(headers: WireRequest["headers"], signed: readonly string[], host: string): string {
  return signed
    .map((name) => {
      const value = name === "host" ? host : (header(headers, name) ?? "");
      return `${name}:${value.trim().replace(/\s+/g, " ")}\n`;
    })
    .join("");
}

function signingKey(secret: string, day: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), "aws4_request");
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Verifies a request's SigV4 signature against the secret of its access key id and answers who signed it.
 * `secretOf` returns undefined for an unknown key (InvalidAccessKeyId). `now` is the server's clock: a header
 * signature more than 15 minutes off, or a presigned URL past `X-Amz-Expires`, is refused.
 */
export function verifySigV4(
  request: WireRequest,
  secretOf: (accessKeyId: string) => string | undefined,
  now: Date,
): SignedBy {
  const [path = "/", query = ""] = request.url.split(/\?(.*)/s);
  const params = new URLSearchParams(query);
  const presigned = params.get("X-Amz-Algorithm") !== null;
  let credential: string;
  let signedHeaders: string;
  let signature: string;
  let amzDate: string;
  if (presigned) {
    if (params.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256")
      throw new SignatureError("SignatureDoesNotMatch", "unsupported algorithm");
    credential = params.get("X-Amz-Credential") ?? "";
    signedHeaders = params.get("X-Amz-SignedHeaders") ?? "";
    signature = params.get("X-Amz-Signature") ?? "";
    amzDate = params.get("X-Amz-Date") ?? "";
  } else {
    const auth = header(request.headers, "authorization") ?? "";
    const m = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
    if (m === null) throw new SignatureError("AccessDenied", "missing or malformed Authorization header");
    [, credential = "", signedHeaders = "", signature = ""] = m;
    amzDate = header(request.headers, "x-amz-date") ?? "";
  }
  const [accessKeyId = "", day = "", region = "", service = "", terminal] = credential.split("/");
  if (terminal !== "aws4_request")
    throw new SignatureError("SignatureDoesNotMatch", "malformed credential scope");
  const secret = secretOf(accessKeyId);
  if (secret === undefined) throw new SignatureError("InvalidAccessKeyId", "the access key id is not known");
  const signedAt = parseAmzDate(amzDate);
  if (!amzDate.startsWith(day)) throw new SignatureError("SignatureDoesNotMatch", "credential date mismatch");
  if (presigned) {
    const expires = Number(params.get("X-Amz-Expires"));
    if (!Number.isInteger(expires) || expires < 1 || expires > 604_800)
      throw new SignatureError("AccessDenied", "X-Amz-Expires must be between 1 and 604800 seconds");
    if (now.getTime() > signedAt.getTime() + expires * 1000)
      throw new SignatureError("AccessDenied", "Request has expired");
  } else if (Math.abs(now.getTime() - signedAt.getTime()) > 15 * 60_000) {
    throw new SignatureError(
      "RequestTimeTooSkewed",
      "The difference between the request time and the server's time is too large",
    );
  }
  const signed = signedHeaders.split(";");
  if (!signed.includes("host")) throw new SignatureError("SignatureDoesNotMatch", "host must be signed");
  const host = header(request.headers, "host") ?? "";
  const payloadHash = presigned
    ? "UNSIGNED-PAYLOAD"
    : (header(request.headers, "x-amz-content-sha256") ?? sha256Hex(request.body));
  if (
    !presigned &&
    /^[0-9a-f]{64}$/.test(payloadHash) &&
    service === "s3" &&
    payloadHash !== sha256Hex(request.body)
  ) {
    throw new SignatureError("SignatureDoesNotMatch", "x-amz-content-sha256 does not match the body");
  }
  const canonical = [
    request.method,
    canonicalPath(path, service),
    canonicalQuery(query, presigned ? "X-Amz-Signature" : undefined),
    canonicalHeaders(request.headers, signed, host),
    signedHeaders,
    payloadHash,
  ].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonical)].join("\n");
  const expected = hmac(signingKey(secret, day, region, service), toSign).toString("hex");
  if (!same(expected, signature)) {
    throw new SignatureError(
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided",
    );
  }
  return { accessKeyId, region, service, signedAt, presigned };
}
