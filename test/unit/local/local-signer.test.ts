// The local evidence signer: ECDSA P-256 over a SHA-256 digest, a key generated once (0600), a stable fingerprint.

import { createHash, createPublicKey, verify } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EVIDENCE_KEY_FILE, LocalSigner } from "#infra/local/adapters/local-signer.ts";
import { parsePublicKey, verifySignature } from "#shared/crypto/signature.ts";

describe("LocalSigner", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "phigate-signer-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("signs a digest so that OpenSSL verifies ECDSA-SHA256 over the original bytes", async () => {
    const signer = await LocalSigner.open(join(dir, "keys"));
    const message = Buffer.from('{"manifest":true}\n');
    const signature = await signer.signDigest(createHash("sha256").update(message).digest());
    const { pem } = await signer.publicKey();
    expect(verify("sha256", message, { key: pem, dsaEncoding: "der" }, signature)).toBe(true);
    expect(
      verify("sha256", Buffer.from('{"manifest":false}\n'), { key: pem, dsaEncoding: "der" }, signature),
    ).toBe(false);
    const parsed = parsePublicKey(pem);
    if ("problem" in parsed) throw new Error(parsed.problem);
    expect(verifySignature(parsed.key, message, signature)).toBe(true);
  });

  it("refuses anything but a 32-byte digest", async () => {
    const signer = await LocalSigner.open(join(dir, "keys"));
    await expect(signer.signDigest(new Uint8Array(31))).rejects.toThrow(/32-byte/);
  });

  it("keeps one key (mode 0600) and a stable fingerprint: SHA-256 of the DER SPKI", async () => {
    const first = await (await LocalSigner.open(join(dir, "keys"))).publicKey();
    const again = await (await LocalSigner.open(join(dir, "keys"))).publicKey();
    expect(again).toEqual(first);
    expect(first.algorithm).toBe("ECDSA_P256_SHA256");
    expect(first.pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const der = createPublicKey(first.pem).export({ type: "spki", format: "der" });
    expect(first.fingerprint).toBe(createHash("sha256").update(der).digest("hex"));
    const mode = (await stat(join(dir, "keys", EVIDENCE_KEY_FILE))).mode & 0o777;
    expect(mode).toBe(0o600);
    expect(await readFile(join(dir, "keys", EVIDENCE_KEY_FILE), "utf8")).toMatch(/BEGIN PRIVATE KEY/);
    const other = await (await LocalSigner.open(join(dir, "other-keys"))).publicKey();
    expect(other.fingerprint).not.toBe(first.fingerprint);
  });
});
