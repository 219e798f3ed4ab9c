// S3 stand-in (REST-XML, path-style): the template's buckets with versioning, Object Lock default retention, SSE-KMS and
// lifecycle rules. Pinned to the S3 API reference and user guide: PutObject/CompleteMultipartUpload with
// `If-None-Match: *` (412 PreconditionFailed), flexible checksums (x-amz-checksum-*, aws-chunked trailers) verified
// (BadDigest), versions and delete markers (a GET of a marker is 404 with x-amz-delete-marker), a locked version refuses
// deletion, a missing key answers 404 only to callers allowed s3:ListBucket (403 otherwise), SSE-KMS puts need
// kms:GenerateDataKey and gets kms:Decrypt, presigned GETs are checked by the endpoint's SigV4 verification.

import { createHash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import type { LoopbackService, ServiceCall, WireResponse } from "./service.ts";
import { ServiceError } from "./service.ts";
import type { ResolvedStack } from "./template.ts";

/** One stored version (or delete marker) of a key. */
export interface ObjectVersion {
  readonly versionId: string;
  readonly deleteMarker: boolean;
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
  readonly checksums: Readonly<Record<string, string>>;
  readonly kmsKeyArn: string | undefined;
  readonly lock: { readonly mode: "COMPLIANCE" | "GOVERNANCE"; readonly until: Date } | undefined;
  readonly created: Date;
  /** When a newer version (or marker) made this one noncurrent. */
  noncurrentSince: Date | undefined;
}

interface LifecycleRule {
  readonly prefix: string;
  readonly expirationDays?: number;
  readonly noncurrentDays?: number;
  readonly expiredDeleteMarker?: boolean;
  readonly abortDays?: number;
}

interface Bucket {
  readonly name: string;
  readonly versioned: boolean;
  readonly lockEnabled: boolean;
  readonly defaultRetention: { mode: "COMPLIANCE" | "GOVERNANCE"; days: number } | undefined;
  readonly defaultKmsKey: string | undefined;
  readonly lifecycle: readonly LifecycleRule[];
  /** Versions per key, oldest first. */
  readonly keys: Map<string, ObjectVersion[]>;
  readonly uploads: Map<
    string,
    {
      key: string;
      created: Date;
      headers: Record<string, string>;
      parts: Map<number, { body: Buffer; etag: string; sha256?: string }>;
    }
  >;
}

const xml = (text: string): string => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
const md5 = (b: Buffer): string => createHash("md5").update(b).digest("hex");
const newVersionId = (): string => randomBytes(24).toString("base64url");
const err = (status: number, code: string, message: string, headers?: Record<string, string>) =>
  new ServiceError(status, code, message, headers === undefined ? {} : { headers });

function header(call: ServiceCall, name: string): string | undefined {
  const v = call.request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Decodes an `aws-chunked` body (unsigned chunks with trailing headers). */
function decodeChunked(body: Buffer): { data: Buffer; trailers: Record<string, string> } {
  const parts: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let at = 0;
  for (;;) {
    const eol = body.indexOf("\r\n", at);
    if (eol < 0) throw err(400, "IncompleteBody", "malformed aws-chunked body");
    const size = Number.parseInt(body.subarray(at, eol).toString("latin1").split(";")[0] ?? "", 16);
    at = eol + 2;
    if (size === 0) break;
    parts.push(body.subarray(at, at + size));
    at += size + 2;
  }
  for (const line of body.subarray(at).toString("latin1").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { data: Buffer.concat(parts), trailers };
}

function checksumOf(algorithm: string, data: Buffer): string {
  if (algorithm === "sha256") return createHash("sha256").update(data).digest("base64");
  if (algorithm === "sha1") return createHash("sha1").update(data).digest("base64");
  if (algorithm === "crc32") {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(crc32(data) >>> 0);
    return b.toString("base64");
  }
  throw err(400, "InvalidRequest", `the stand-in does not verify ${algorithm} checksums`);
}

/** The S3 stand-in. */
export class S3StandIn implements LoopbackService {
  readonly signingName = "s3";
  readonly protocol = "restXml" as const;
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    stack: ResolvedStack,
    private readonly now: () => Date = () => new Date(),
  ) {
    for (const resource of stack.ofType("AWS::S3::Bucket")) {
      const p = resource.properties as {
        VersioningConfiguration?: { Status: string };
        ObjectLockEnabled?: boolean;
        ObjectLockConfiguration?: {
          Rule?: { DefaultRetention?: { Mode: "COMPLIANCE" | "GOVERNANCE"; Days?: number; Years?: number } };
        };
        BucketEncryption?: {
          ServerSideEncryptionConfiguration: {
            ServerSideEncryptionByDefault: { SSEAlgorithm: string; KMSMasterKeyID?: string };
          }[];
        };
        LifecycleConfiguration?: { Rules: Record<string, unknown>[] };
      };
      const retention = p.ObjectLockConfiguration?.Rule?.DefaultRetention;
      const sse = p.BucketEncryption?.ServerSideEncryptionConfiguration[0]?.ServerSideEncryptionByDefault;
      const name = stack.ref(resource.logicalId);
      this.buckets.set(name, {
        name,
        versioned: p.VersioningConfiguration?.Status === "Enabled",
        lockEnabled: p.ObjectLockEnabled === true,
        defaultRetention:
          retention === undefined
            ? undefined
            : { mode: retention.Mode, days: retention.Days ?? (retention.Years ?? 0) * 365 },
        defaultKmsKey: sse?.SSEAlgorithm === "aws:kms" ? sse.KMSMasterKeyID : undefined,
        lifecycle: (p.LifecycleConfiguration?.Rules ?? [])
          .filter((r) => r.Status === "Enabled")
          .map((r) => ({
            prefix: String(r.Prefix ?? (r.Filter as { Prefix?: string } | undefined)?.Prefix ?? ""),
            ...(r.ExpirationInDays === undefined ? {} : { expirationDays: Number(r.ExpirationInDays) }),
            ...(r.NoncurrentVersionExpiration === undefined
              ? {}
              : {
                  noncurrentDays: Number(
                    (r.NoncurrentVersionExpiration as { NoncurrentDays: number }).NoncurrentDays,
                  ),
                }),
            ...(r.ExpiredObjectDeleteMarker === true ? { expiredDeleteMarker: true } : {}),
            ...(r.AbortIncompleteMultipartUpload === undefined
              ? {}
              : {
                  abortDays: Number(
                    (r.AbortIncompleteMultipartUpload as { DaysAfterInitiation: number }).DaysAfterInitiation,
                  ),
                }),
          })),
        keys: new Map(),
        uploads: new Map(),
      });
    }
  }

  /** Every version (oldest first) of every key in a bucket, for tests. */
  versions(bucket: string): ReadonlyMap<string, readonly ObjectVersion[]> {
    return this.bucket(bucket).keys;
  }

  /** Puts a delete marker on a key, as a lifecycle expiration does (the version behind it stays). */
  expire(bucket: string, key: string, at: Date): void {
    this.store(this.bucket(bucket), key, this.marker(at));
  }

  /** Runs the bucket lifecycle rules as S3 would at `at` (expiration, noncurrent expiration, upload aborts). */
  applyLifecycle(at: Date): void {
    const days = (from: Date) => (at.getTime() - from.getTime()) / 86_400_000;
    for (const bucket of this.buckets.values()) {
      for (const rule of bucket.lifecycle) {
        for (const [key, versions] of bucket.keys) {
          if (!key.startsWith(rule.prefix)) continue;
          const current = versions[versions.length - 1];
          if (
            rule.expirationDays !== undefined &&
            current !== undefined &&
            !current.deleteMarker &&
            days(current.created) >= rule.expirationDays
          ) {
            current.noncurrentSince = at;
            versions.push(this.marker(at));
          }
          if (rule.noncurrentDays !== undefined) {
            const keep = versions.filter(
              (v, i) =>
                i === versions.length - 1 ||
                v.noncurrentSince === undefined ||
                days(v.noncurrentSince) < (rule.noncurrentDays ?? 0) ||
                (v.lock !== undefined && v.lock.until > at),
            );
            versions.splice(0, versions.length, ...keep);
          }
          const last = versions[versions.length - 1];
          if (
            versions.length === 1 &&
            last?.deleteMarker === true &&
            (rule.expiredDeleteMarker === true || rule.noncurrentDays !== undefined)
          )
            bucket.keys.delete(key);
        }
        if (rule.abortDays !== undefined) {
          for (const [id, upload] of bucket.uploads)
            if (days(upload.created) >= rule.abortDays) bucket.uploads.delete(id);
        }
      }
    }
  }

  /**
   * Makes every write (PUT, multipart) of a key for which `matches` holds fail with 500 InternalError until the returned
   * function is called: a store failing mid-write, for a test of what a failed writer leaves behind.
   */
  failWrites(matches: (key: string) => boolean): () => void {
    this.writeFault = matches;
    return () => {
      this.writeFault = undefined;
    };
  }

  private writeFault: ((key: string) => boolean) | undefined;

  async handle(call: ServiceCall): Promise<WireResponse> {
    const url = new URL(call.request.url, "https://s3.local");
    const [, bucketName = "", ...rest] = url.pathname.split("/");
    const key = rest.map((p) => decodeURIComponent(p)).join("/");
    if ((call.request.method === "PUT" || call.request.method === "POST") && this.writeFault?.(key) === true)
      throw err(500, "InternalError", "We encountered an internal error. Please try again.");
    const bucket = this.bucket(bucketName);
    const q = url.searchParams;
    const method = call.request.method;
    if (key === "") {
      if (method === "GET" && q.get("list-type") === "2") return this.listV2(call, bucket, q);
      throw err(501, "NotImplemented", "bucket operation not implemented by the stand-in");
    }
    const objectArn = `arn:aws:s3:::${bucket.name}/${key}`;
    if (method === "PUT" && q.has("uploadId")) return this.uploadPart(call, bucket, key, q, objectArn);
    if (method === "PUT") return this.putObject(call, bucket, key, objectArn);
    if (method === "POST" && q.has("uploads")) return this.createUpload(call, bucket, key, objectArn);
    if (method === "POST" && q.has("uploadId")) return this.completeUpload(call, bucket, key, q, objectArn);
    if (method === "DELETE" && q.has("uploadId")) {
      call.operation("AbortMultipartUpload");
      call.authorize("s3:AbortMultipartUpload", objectArn);
      if (!bucket.uploads.delete(q.get("uploadId") ?? ""))
        throw err(404, "NoSuchUpload", "The specified upload does not exist");
      return { status: 204 };
    }
    if (method === "GET" || method === "HEAD") return this.getObject(call, bucket, key, q, objectArn);
    if (method === "DELETE") return this.deleteObject(call, bucket, key, q, objectArn);
    throw err(405, "MethodNotAllowed", "method not allowed");
  }

  private bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (bucket === undefined) throw err(404, "NoSuchBucket", "The specified bucket does not exist");
    return bucket;
  }

  private marker(at: Date): ObjectVersion {
    return {
      versionId: newVersionId(),
      deleteMarker: true,
      body: Buffer.alloc(0),
      contentType: "",
      etag: "",
      checksums: {},
      kmsKeyArn: undefined,
      lock: undefined,
      created: at,
      noncurrentSince: undefined,
    };
  }

  private current(bucket: Bucket, key: string): ObjectVersion | undefined {
    const versions = bucket.keys.get(key);
    return versions?.[versions.length - 1];
  }

  /** The body as sent (aws-chunked decoded) and the checksums it claims, verified. */
  private body(call: ServiceCall): { data: Buffer; checksums: Record<string, string> } {
    let data = call.request.body;
    let trailers: Record<string, string> = {};
    const sha = header(call, "x-amz-content-sha256") ?? "";
    if ((header(call, "content-encoding") ?? "").includes("aws-chunked") || sha.startsWith("STREAMING-")) {
      if (sha !== "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        throw err(501, "NotImplemented", `the stand-in does not accept ${sha} bodies`);
      ({ data, trailers } = decodeChunked(data));
      const declared = header(call, "x-amz-decoded-content-length");
      if (declared !== undefined && Number(declared) !== data.length)
        throw err(400, "IncompleteBody", "x-amz-decoded-content-length does not match the body");
    }
    const checksums: Record<string, string> = {};
    for (const source of [call.request.headers, trailers]) {
      for (const [name, value] of Object.entries(source)) {
        const m = /^x-amz-checksum-([a-z0-9]+)$/.exec(name);
        if (m?.[1] !== undefined && m[1] !== "type" && m[1] !== "mode" && typeof value === "string") {
          if (checksumOf(m[1], data) !== value)
            throw err(
              400,
              "BadDigest",
              `The ${m[1].toUpperCase()} you specified did not match the calculated checksum.`,
            );
          checksums[m[1]] = value;
        }
      }
    }
    const contentMd5 = header(call, "content-md5");
    if (contentMd5 !== undefined && createHash("md5").update(data).digest("base64") !== contentMd5)
      throw err(400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
    if (contentMd5 !== undefined) checksums.md5 = contentMd5;
    return { data, checksums };
  }

  /** Object Lock headers of a write, or the bucket's default retention. */
  private lockOf(call: ServiceCall, bucket: Bucket, hasChecksum: boolean): ObjectVersion["lock"] {
    const mode = header(call, "x-amz-object-lock-mode");
    const until = header(call, "x-amz-object-lock-retain-until-date");
    if ((mode === undefined) !== (until === undefined))
      throw err(
        400,
        "InvalidArgument",
        "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
      );
    if (mode !== undefined && !bucket.lockEnabled)
      throw err(400, "InvalidRequest", "Bucket is missing Object Lock Configuration");
    const lock =
      mode !== undefined && until !== undefined
        ? { mode: mode as "COMPLIANCE" | "GOVERNANCE", until: new Date(until) }
        : bucket.defaultRetention === undefined
          ? undefined
          : {
              mode: bucket.defaultRetention.mode,
              until: new Date(this.now().getTime() + bucket.defaultRetention.days * 86_400_000),
            };
    if (lock !== undefined && !hasChecksum)
      throw err(
        400,
        "InvalidRequest",
        "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters",
      );
    return lock;
  }

  private kmsKey(call: ServiceCall, bucket: Bucket): string | undefined {
    const sse = header(call, "x-amz-server-side-encryption");
    if (sse === "aws:kms")
      return header(call, "x-amz-server-side-encryption-aws-kms-key-id") ?? bucket.defaultKmsKey;
    if (sse !== undefined) return undefined;
    return bucket.defaultKmsKey;
  }

  private ifNoneMatch(call: ServiceCall, bucket: Bucket, key: string): void {
    const condition = header(call, "if-none-match");
    if (condition === undefined) return;
    if (condition !== "*") throw err(501, "NotImplemented", "If-None-Match supports only *");
    const current = this.current(bucket, key);
    if (current !== undefined && !current.deleteMarker)
      throw err(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
  }

  private store(bucket: Bucket, key: string, version: ObjectVersion): void {
    const versions = bucket.keys.get(key) ?? [];
    const previous = versions[versions.length - 1];
    if (previous !== undefined) previous.noncurrentSince = version.created;
    if (!bucket.versioned) versions.splice(0, versions.length);
    versions.push(version);
    bucket.keys.set(key, versions);
  }

  private writeHeaders(version: ObjectVersion): Record<string, string> {
    return {
      etag: `"${version.etag}"`,
      "x-amz-version-id": version.versionId,
      ...(version.kmsKeyArn === undefined
        ? { "x-amz-server-side-encryption": "AES256" }
        : {
            "x-amz-server-side-encryption": "aws:kms",
            "x-amz-server-side-encryption-aws-kms-key-id": version.kmsKeyArn,
            "x-amz-server-side-encryption-bucket-key-enabled": "true",
          }),
      ...Object.fromEntries(
        Object.entries(version.checksums)
          .filter(([a]) => a !== "md5")
          .map(([a, v]) => [`x-amz-checksum-${a}`, v]),
      ),
    };
  }

  private putObject(call: ServiceCall, bucket: Bucket, key: string, arn: string): WireResponse {
    call.operation("PutObject");
    call.authorize("s3:PutObject", arn);
    const { data, checksums } = this.body(call);
    const kmsKeyArn = this.kmsKey(call, bucket);
    if (kmsKeyArn !== undefined) call.authorize("kms:GenerateDataKey", kmsKeyArn, { "kms:ViaService": "s3" });
    const lock = this.lockOf(call, bucket, Object.keys(checksums).length > 0);
    this.ifNoneMatch(call, bucket, key);
    const version: ObjectVersion = {
      versionId: bucket.versioned ? newVersionId() : "null",
      deleteMarker: false,
      body: data,
      contentType: header(call, "content-type") ?? "binary/octet-stream",
      etag: md5(data),
      checksums,
      kmsKeyArn,
      lock,
      created: this.now(),
      noncurrentSince: undefined,
    };
    this.store(bucket, key, version);
    return { status: 200, headers: this.writeHeaders(version) };
  }

  private getObject(
    call: ServiceCall,
    bucket: Bucket,
    key: string,
    q: URLSearchParams,
    arn: string,
  ): WireResponse {
    const versionId = q.get("versionId");
    call.operation(call.request.method === "HEAD" ? "HeadObject" : "GetObject");
    call.authorize(versionId === null ? "s3:GetObject" : "s3:GetObjectVersion", arn);
    const versions = bucket.keys.get(key) ?? [];
    const version =
      versionId === null ? versions[versions.length - 1] : versions.find((v) => v.versionId === versionId);
    if (version === undefined || version.deleteMarker) {
      if (!call.allowed("s3:ListBucket", `arn:aws:s3:::${bucket.name}`))
        throw err(403, "AccessDenied", "Access Denied");
      throw err(
        404,
        "NoSuchKey",
        "The specified key does not exist.",
        version?.deleteMarker === true ? { "x-amz-delete-marker": "true" } : undefined,
      );
    }
    if (version.kmsKeyArn !== undefined)
      call.authorize("kms:Decrypt", version.kmsKeyArn, { "kms:ViaService": "s3" });
    const checksumMode = header(call, "x-amz-checksum-mode") === "ENABLED";
    const headers: Record<string, string> = {
      "content-type": version.contentType,
      "content-length": String(version.body.length),
      "last-modified": version.created.toUTCString(),
      ...this.writeHeaders(version),
      ...(version.lock === undefined
        ? {}
        : {
            "x-amz-object-lock-mode": version.lock.mode,
            "x-amz-object-lock-retain-until-date": version.lock.until.toISOString(),
          }),
    };
    if (!checksumMode)
      for (const name of Object.keys(headers)) if (name.startsWith("x-amz-checksum-")) delete headers[name];
    return { status: 200, headers, body: version.body };
  }

  private deleteObject(
    call: ServiceCall,
    bucket: Bucket,
    key: string,
    q: URLSearchParams,
    arn: string,
  ): WireResponse {
    const versionId = q.get("versionId");
    call.operation("DeleteObject");
    if (versionId === null) {
      call.authorize("s3:DeleteObject", arn);
      if (!bucket.versioned) {
        bucket.keys.delete(key);
        return { status: 204 };
      }
      const marker = this.marker(this.now());
      this.store(bucket, key, marker);
      return {
        status: 204,
        headers: { "x-amz-delete-marker": "true", "x-amz-version-id": marker.versionId },
      };
    }
    call.authorize("s3:DeleteObjectVersion", arn);
    const versions = bucket.keys.get(key) ?? [];
    const at = versions.findIndex((v) => v.versionId === versionId);
    const version = versions[at];
    if (version === undefined) return { status: 204 };
    if (version.lock !== undefined && version.lock.until > this.now()) {
      const bypass =
        version.lock.mode === "GOVERNANCE" &&
        header(call, "x-amz-bypass-governance-retention") === "true" &&
        call.allowed("s3:BypassGovernanceRetention", arn);
      if (!bypass) throw err(403, "AccessDenied", "Access Denied because object protected by object lock.");
    }
    versions.splice(at, 1);
    if (versions.length === 0) bucket.keys.delete(key);
    return { status: 204, headers: { "x-amz-version-id": versionId } };
  }

  private createUpload(call: ServiceCall, bucket: Bucket, key: string, arn: string): WireResponse {
    call.operation("CreateMultipartUpload");
    call.authorize("s3:PutObject", arn);
    const kmsKeyArn = this.kmsKey(call, bucket);
    if (kmsKeyArn !== undefined) call.authorize("kms:GenerateDataKey", kmsKeyArn, { "kms:ViaService": "s3" });
    const uploadId = randomBytes(32).toString("base64url");
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(call.request.headers)) {
      if (typeof value === "string" && (name.startsWith("x-amz-") || name === "content-type"))
        headers[name] = value;
    }
    bucket.uploads.set(uploadId, { key, created: this.now(), headers, parts: new Map() });
    return {
      status: 200,
      headers: { "content-type": "application/xml" },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult><Bucket>${xml(bucket.name)}</Bucket><Key>${xml(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
    };
  }

  private uploadPart(
    call: ServiceCall,
    bucket: Bucket,
    key: string,
    q: URLSearchParams,
    arn: string,
  ): WireResponse {
    call.operation("UploadPart");
    call.authorize("s3:PutObject", arn);
    const upload = bucket.uploads.get(q.get("uploadId") ?? "");
    if (upload === undefined || upload.key !== key)
      throw err(404, "NoSuchUpload", "The specified upload does not exist");
    const { data, checksums } = this.body(call);
    const etag = md5(data);
    upload.parts.set(Number(q.get("partNumber")), {
      body: data,
      etag,
      ...(checksums.sha256 === undefined ? {} : { sha256: checksums.sha256 }),
    });
    return {
      status: 200,
      headers: {
        etag: `"${etag}"`,
        ...(checksums.sha256 === undefined ? {} : { "x-amz-checksum-sha256": checksums.sha256 }),
      },
    };
  }

  private completeUpload(
    call: ServiceCall,
    bucket: Bucket,
    key: string,
    q: URLSearchParams,
    arn: string,
  ): WireResponse {
    call.operation("CompleteMultipartUpload");
    call.authorize("s3:PutObject", arn);
    const uploadId = q.get("uploadId") ?? "";
    const upload = bucket.uploads.get(uploadId);
    if (upload === undefined || upload.key !== key)
      throw err(404, "NoSuchUpload", "The specified upload does not exist");
    const text = call.request.body.toString("utf8");
    const listed = [...text.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
      number: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1] ?? "")?.[1]),
      etag: (/<ETag>([^<]*)<\/ETag>/.exec(m[1] ?? "")?.[1] ?? "").replace(/&quot;|"/g, ""),
    }));
    if (listed.length === 0) throw err(400, "MalformedXML", "The XML you provided was not well-formed");
    const bodies: Buffer[] = [];
    for (const [i, part] of listed.entries()) {
      const stored = upload.parts.get(part.number);
      if (stored === undefined || stored.etag !== part.etag)
        throw err(400, "InvalidPart", "One or more of the specified parts could not be found");
      if (i > 0 && (listed[i - 1]?.number ?? 0) >= part.number)
        throw err(400, "InvalidPartOrder", "The list of parts was not in ascending order");
      if (i < listed.length - 1 && stored.body.length < 5 * 1024 * 1024)
        throw err(
          400,
          "EntityTooSmall",
          "Your proposed upload is smaller than the minimum allowed object size.",
        );
      bodies.push(stored.body);
    }
    const kmsKeyArn = upload.headers["x-amz-server-side-encryption-aws-kms-key-id"] ?? bucket.defaultKmsKey;
    if (kmsKeyArn !== undefined) call.authorize("kms:Decrypt", kmsKeyArn, { "kms:ViaService": "s3" });
    this.ifNoneMatch(call, bucket, key);
    const data = Buffer.concat(bodies);
    const hasChecksum =
      upload.headers["x-amz-checksum-algorithm"] !== undefined ||
      upload.headers["x-amz-sdk-checksum-algorithm"] !== undefined;
    const mode = upload.headers["x-amz-object-lock-mode"];
    const until = upload.headers["x-amz-object-lock-retain-until-date"];
    const lock =
      mode !== undefined && until !== undefined
        ? { mode: mode as "COMPLIANCE" | "GOVERNANCE", until: new Date(until) }
        : bucket.defaultRetention === undefined
          ? undefined
          : {
              mode: bucket.defaultRetention.mode,
              until: new Date(this.now().getTime() + bucket.defaultRetention.days * 86_400_000),
            };
    if (lock !== undefined && !hasChecksum && listed.length === 0)
      throw err(400, "InvalidRequest", "checksum required");
    const version: ObjectVersion = {
      versionId: bucket.versioned ? newVersionId() : "null",
      deleteMarker: false,
      body: data,
      contentType: upload.headers["content-type"] ?? "binary/octet-stream",
      etag: `${md5(Buffer.concat(bodies.map((b) => createHash("md5").update(b).digest())))}-${bodies.length}`,
      checksums: {},
      kmsKeyArn,
      lock,
      created: this.now(),
      noncurrentSince: undefined,
    };
    this.store(bucket, key, version);
    bucket.uploads.delete(uploadId);
    return {
      status: 200,
      headers: { "content-type": "application/xml", "x-amz-version-id": version.versionId },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult><Bucket>${xml(bucket.name)}</Bucket><Key>${xml(key)}</Key><ETag>"${version.etag}"</ETag></CompleteMultipartUploadResult>`,
    };
  }

  private listV2(call: ServiceCall, bucket: Bucket, q: URLSearchParams): WireResponse {
    call.operation("ListObjectsV2");
    const prefix = q.get("prefix") ?? "";
    call.authorize("s3:ListBucket", `arn:aws:s3:::${bucket.name}`, { "s3:prefix": prefix });
    const maxKeys = Math.min(1000, Number(q.get("max-keys") ?? 1000));
    const after = q.get("continuation-token") ?? q.get("start-after") ?? "";
    const keys = [...bucket.keys.entries()]
      .filter(([k, v]) => k.startsWith(prefix) && k > after && v[v.length - 1]?.deleteMarker === false)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    const page = keys.slice(0, maxKeys);
    const truncated = keys.length > page.length;
    const contents = page
      .map(([k, v]) => {
        const current = v[v.length - 1] as ObjectVersion;
        return `<Contents><Key>${xml(k)}</Key><LastModified>${current.created.toISOString()}</LastModified><ETag>"${current.etag}"</ETag><Size>${current.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
      })
      .join("");
    return {
      status: 200,
      headers: { "content-type": "application/xml" },
      body:
        `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>${xml(bucket.name)}</Name><Prefix>${xml(prefix)}</Prefix>` +
        `<KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}` +
        (truncated
          ? `<NextContinuationToken>${xml(page[page.length - 1]?.[0] ?? "")}</NextContinuationToken>`
          : "") +
        `</ListBucketResult>`,
    };
  }
}
