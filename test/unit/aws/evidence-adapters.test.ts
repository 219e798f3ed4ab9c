// KMS signer, S3 bundle sink, S3 policy and catalog archives: exact requests, and an AWS-built bundle that verify-evidence accepts.

import { createHash, createPrivateKey, createPublicKey, verify } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { GetPublicKeyCommand, KMSClient, SignCommand } from "@aws-sdk/client-kms";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { p256 } from "@noble/curves/nist.js";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KmsSigner } from "#infra/aws/adapters/kms-signer.ts";
import { S3CatalogArchive } from "#infra/aws/adapters/s3-catalog-archive.ts";
import { S3EvidenceStore } from "#infra/aws/adapters/s3-evidence-store.ts";
import { S3PolicyArchive } from "#infra/aws/adapters/s3-policy-archive.ts";
import { EVIDENCE_KEY_FILE, LocalSigner } from "#infra/local/adapters/local-signer.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { ConflictError, IntegrityError, UnavailableError } from "#shared/errors.ts";
import { buildEvidenceBundle } from "#shared/evidence/build-bundle.ts";
import { verifyBundle } from "#shared/evidence/verify-bundle.ts";
import { type EvidenceFixture, openEvidenceFixture } from "#test/support/evidence-fixture.ts";

const KEY_ID = "arn:aws:kms:eu-west-1:111111111111:key/5161";
const DATA_KEY = "arn:aws:kms:eu-west-1:111111111111:key/0000";
const BUCKET = "phigate-evidence";
const kms = mockClient(KMSClient);
const s3 = mockClient(S3Client);
const credentials = { accessKeyId: "AKIDTESTTESTTEST", secretAccessKey: "test-secret-not-real" };

/** A KMS stand-in holding a P-256 private key: Sign with MessageType DIGEST signs the given digest as is. */
async function kmsWithKey(pemPath: string): Promise<void> {
  const privateKey = createPrivateKey(await readFile(pemPath, "utf8"));
  const d = Buffer.from(String(privateKey.export({ format: "jwk" }).d), "base64url");
  const spki = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  kms.on(SignCommand).callsFake((input) => {
    if (input.MessageType !== "DIGEST" || input.SigningAlgorithm !== "ECDSA_SHA_256")
      throw new Error("unexpected Sign request");
    return { KeyId: KEY_ID, Signature: p256.sign(input.Message, d, { prehash: false, format: "der" }) };
  });
  kms.on(GetPublicKeyCommand).resolves({
    KeyId: KEY_ID,
    PublicKey: new Uint8Array(spki),
    KeySpec: "ECC_NIST_P256",
    KeyUsage: "SIGN_VERIFY",
    SigningAlgorithms: ["ECDSA_SHA_256"],
  });
}

const signer = () =>
  new KmsSigner({ client: new KMSClient({ region: "eu-west-1", credentials }), keyId: KEY_ID });

/** An S3 stand-in keeping what was put (write-once, like If-None-Match: *). */
function bucket(): Map<string, Buffer> {
  const objects = new Map<string, Buffer>();
  s3.on(PutObjectCommand).callsFake((input) => {
    if (objects.has(input.Key)) {
      throw new S3ServiceException({
        name: "PreconditionFailed",
        $fault: "client",
        $metadata: { httpStatusCode: 412 },
      });
    }
    objects.set(input.Key, Buffer.from(input.Body));
    return {};
  });
  s3.on(GetObjectCommand).callsFake((input) => {
    const body = objects.get(input.Key);
    if (body === undefined) throw new NoSuchKey({ message: "no such key", $metadata: {} });
    return { Body: { transformToByteArray: async () => new Uint8Array(body) } as never };
  });
  s3.on(ListObjectsV2Command).callsFake((input) => ({
    KeyCount: [...objects.keys()].filter((k) => k.startsWith(input.Prefix)).length,
  }));
  s3.on(DeleteObjectCommand).resolves({});
  return objects;
}

const s3Client = () => new S3Client({ region: "eu-west-1", credentials });

let dir: string;
beforeEach(async () => {
  kms.reset();
  s3.reset();
  dir = await mkdtemp(join(tmpdir(), "phigate-aws-evidence-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("KmsSigner", () => {
  it("signs the digest with MessageType DIGEST / ECDSA_SHA_256; the DER signature verifies with the PEM it returns", async () => {
    const local = await LocalSigner.open(join(dir, "keys"));
    await kmsWithKey(join(dir, "keys", EVIDENCE_KEY_FILE));
    const message = Buffer.from('{"manifest":true}\n');
    const digest = createHash("sha256").update(message).digest();
    const aws = signer();
    const signature = await aws.signDigest(digest);
    expect(kms.commandCalls(SignCommand)[0]?.args[0].input).toEqual({
      KeyId: KEY_ID,
      Message: digest,
      MessageType: "DIGEST",
      SigningAlgorithm: "ECDSA_SHA_256",
    });
    const publicKey = await aws.publicKey();
    expect(publicKey.pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(verify("sha256", message, { key: publicKey.pem, dsaEncoding: "der" }, signature)).toBe(true);
    expect(publicKey).toEqual(await local.publicKey());
    await aws.publicKey();
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);
    expect(kms.commandCalls(GetPublicKeyCommand)[0]?.args[0].input).toEqual({ KeyId: KEY_ID });
  });

  it("refuses anything but a 32-byte digest, a key of another spec, and maps KMS failures to signer_unavailable", async () => {
    await expect(signer().signDigest(new Uint8Array(64))).rejects.toThrow(/32-byte/);
    kms.on(GetPublicKeyCommand).resolves({ KeySpec: "RSA_2048", KeyUsage: "SIGN_VERIFY" });
    await expect(signer().publicKey()).rejects.toMatchObject({ code: "signer_unavailable" });
    kms.on(SignCommand).rejects(new Error("KMSInvalidStateException"));
    await expect(signer().signDigest(new Uint8Array(32))).rejects.toBeInstanceOf(UnavailableError);
  });

  it("does not cache a failed public-key read", async () => {
    await LocalSigner.open(join(dir, "keys"));
    const aws = signer();
    kms.on(GetPublicKeyCommand).rejectsOnce(new Error("throttled"));
    await expect(aws.publicKey()).rejects.toBeInstanceOf(UnavailableError);
    await kmsWithKey(join(dir, "keys", EVIDENCE_KEY_FILE));
    await expect(aws.publicKey()).resolves.toMatchObject({ algorithm: "ECDSA_P256_SHA256" });
  });
});

describe("S3EvidenceStore", () => {
  it("writes each file once under bundles/<id>/ with a SHA-256 checksum and SSE-KMS, and seals to an s3:// location", async () => {
    const objects = bucket();
    const store = new S3EvidenceStore({ client: s3Client(), bucket: BUCKET, kmsKeyArn: DATA_KEY });
    const sink = await store.open("evb_TEST");
    expect(s3.commandCalls(ListObjectsV2Command)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      Prefix: "bundles/evb_TEST/",
      MaxKeys: 1,
    });
    const body = Buffer.from('{"a":1}\n');
    const written = await sink.write("manifest.json", body);
    expect(written).toEqual({ path: "manifest.json", sha256: sha256Hex(body), size: body.length });
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Bucket: BUCKET,
      Key: "bundles/evb_TEST/manifest.json",
      ContentType: "application/json",
      ServerSideEncryption: "aws:kms",
      SSEKMSKeyId: DATA_KEY,
      ChecksumAlgorithm: "SHA256",
      ChecksumSHA256: createHash("sha256").update(body).digest("base64"),
      IfNoneMatch: "*",
    });
    await expect(sink.write("manifest.json", body)).rejects.toThrow(/invalid bundle file path/);
    await expect(sink.write("../escape", body)).rejects.toThrow(/invalid bundle file path/);
    expect(await sink.seal()).toBe(`s3://${BUCKET}/bundles/evb_TEST/`);
    expect([...objects.keys()]).toEqual(["bundles/evb_TEST/manifest.json"]);
    await expect(store.open("evb_TEST")).rejects.toBeInstanceOf(ConflictError);
    await expect(store.open("../x")).rejects.toThrow(/invalid bundle id/);
  });

  it("hides a discarded bundle's files with delete markers (the locked versions stay)", async () => {
    bucket();
    const sink = await new S3EvidenceStore({ client: s3Client(), bucket: BUCKET, kmsKeyArn: DATA_KEY }).open(
      "evb_GONE",
    );
    await sink.write("sessions.jsonl", Buffer.from("{}\n"));
    await sink.discard();
    expect(s3.commandCalls(DeleteObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: BUCKET, Key: "bundles/evb_GONE/sessions.jsonl" },
    ]);
  });
});

describe("S3PolicyArchive", () => {
  it("stores a policy once under policies/<sha256>.yaml and reads it back only when its bytes match", async () => {
    const objects = bucket();
    const archive = new S3PolicyArchive({ client: s3Client(), bucket: BUCKET, kmsKeyArn: DATA_KEY });
    const text = "version: 1\nname: test\n";
    const digest = await archive.put(text);
    expect(digest).toBe(sha256Hex(text));
    expect(await archive.put(text)).toBe(digest);
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Key: `policies/${digest}.yaml`,
      ContentType: "application/yaml",
      IfNoneMatch: "*",
      ChecksumAlgorithm: "SHA256",
    });
    expect(await archive.get(digest)).toBe(text);
    expect(await archive.get("0".repeat(64))).toBeUndefined();
    expect(await archive.get("not-a-digest")).toBeUndefined();
    objects.set(`policies/${digest}.yaml`, Buffer.from("version: 1\nname: altered\n"));
    await expect(archive.get(digest)).rejects.toBeInstanceOf(IntegrityError);
  });
});

describe("S3CatalogArchive", () => {
  it("stores a snapshot once under catalogs/<version>.json and refuses names that are not versions", async () => {
    const objects = bucket();
    const archive = new S3CatalogArchive({ client: s3Client(), bucket: BUCKET, kmsKeyArn: DATA_KEY });
    const version = "ab".repeat(32);
    const bytes = Buffer.from('{"relations":[],"searchPath":["public"],"version":"x"}');
    await archive.put(version, bytes);
    await archive.put(version, bytes);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(2);
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Key: `catalogs/${version}.json`,
      ContentType: "application/json",
      IfNoneMatch: "*",
      ChecksumAlgorithm: "SHA256",
    });
    expect(objects.get(`catalogs/${version}.json`)).toEqual(bytes);
    expect(Buffer.from((await archive.get(version)) ?? [])).toEqual(bytes);
    expect(await archive.get("0".repeat(64))).toBeUndefined();
    expect(await archive.get("../policies/x")).toBeUndefined();
    await expect(archive.put("ddl:1", bytes)).rejects.toThrow(/SHA-256 hex digest/);
  });
});

describe("a bundle built on AWS adapters", () => {
  let f: EvidenceFixture;
  beforeEach(async () => {
    f = await openEvidenceFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it("is verified by verify-evidence unchanged, against the fingerprint of the key KMS holds", async () => {
    await f.completed();
    await f.rejected();
    const objects = bucket();
    await kmsWithKey(join(f.dir, "keys", EVIDENCE_KEY_FILE));
    const archive = new S3PolicyArchive({ client: s3Client(), bucket: BUCKET, kmsKeyArn: DATA_KEY });
    await archive.put(await f.policies.get(f.policyDigest).then((t) => t ?? ""));
    const catalogs = new S3CatalogArchive({ client: s3Client(), bucket: BUCKET, kmsKeyArn: DATA_KEY });
    await catalogs.put(f.catalog.version, (await f.catalogs.get(f.catalog.version)) ?? new Uint8Array());
    const built = await buildEvidenceBundle(
      {
        ...f.deps,
        signer: signer(),
        evidence: new S3EvidenceStore({ client: s3Client(), bucket: BUCKET, kmsKeyArn: DATA_KEY }),
        policies: archive,
        catalogs,
      },
      new Date(f.start.getTime() - 60_000),
      new Date(f.start.getTime() + 600_000),
    );
    const prefix = `bundles/${built.bundleId}/`;
    expect(built.location).toBe(`s3://${BUCKET}/${prefix}`);
    const keys = s3.commandCalls(PutObjectCommand).map((c) => String(c.args[0].input.Key));
    const bundleKeys = keys.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
    expect(bundleKeys.slice(-2)).toEqual(["manifest.json", "manifest.sig"]);
    const download = join(dir, "download");
    for (const [key, body] of objects) {
      if (!key.startsWith(prefix)) continue;
      const path = join(download, key.slice(prefix.length));
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, body);
    }
    const trusted = (await f.signer.publicKey()).fingerprint;
    const verification = await verifyBundle(download, { trustedKey: trusted });
    expect(verification.problems).toEqual([]);
    expect(verification.ok).toBe(true);
    expect(verification.keyFingerprint).toBe(trusted);
    expect(verification.facts).toMatchObject({ catalogs: 1, reanalyzed: 1 });
  });
});
