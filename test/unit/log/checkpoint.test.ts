// Checkpoints: the C2SP note layout, the key ID, signatures by the evidence key and every way a note is refused.

import { createHash, createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalSigner } from "#infra/local/adapters/local-signer.ts";
import {
  checkpointText,
  logOrigin,
  noteKeyId,
  readCheckpoint,
  signCheckpoint,
} from "#shared/log/checkpoint.ts";
import { EMPTY_ROOT } from "#shared/log/merkle.ts";

let dir: string;
let signer: LocalSigner;
let key: ReturnType<typeof createPublicKey>;
let origin: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "phigate-checkpoint-"));
  signer = await LocalSigner.open(join(dir, "keys"));
  const description = await signer.publicKey();
  key = createPublicKey(description.pem);
  origin = logOrigin(description.fingerprint);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const root = Uint8Array.from(createHash("sha256").update("a root").digest());

describe("checkpoint notes", () => {
  it("lays out origin, size and base64 root, then a blank line and one signature line", async () => {
    const signed = await signCheckpoint({ origin, size: 42, root }, signer, key);
    const [text, signatures] = signed.note.split("\n\n");
    expect(`${text}\n`).toBe(checkpointText({ origin, size: 42, root }));
    expect(text).toBe(`${origin}\n42\n${Buffer.from(root).toString("base64")}`);
    expect(signatures).toMatch(new RegExp(`^\u2014 ${origin.replace(/[.]/g, "\\.")} [A-Za-z0-9+/=]+\n$`));
    const blob = Buffer.from((signatures as string).split(" ")[2] as string, "base64");
    const spki = key.export({ type: "spki", format: "der" });
    expect(blob.subarray(0, 4)).toEqual(createHash("sha256").update(spki).digest().subarray(0, 4));
    expect(Buffer.from(noteKeyId(key))).toEqual(blob.subarray(0, 4));
    const reading = readCheckpoint(signed.note, key, origin);
    expect(reading).toMatchObject({ ok: true, checkpoint: { origin, size: 42 } });
    if (reading.ok) expect(Buffer.from(reading.checkpoint.root)).toEqual(Buffer.from(root));
  });

  it("signs the empty tree", async () => {
    const signed = await signCheckpoint({ origin, size: 0, root: EMPTY_ROOT }, signer, key);
    expect(readCheckpoint(signed.note, key)).toMatchObject({ ok: true, checkpoint: { size: 0 } });
  });

  it("refuses a re-signed rewrite, another key, another origin and malformed notes", async () => {
    const signed = await signCheckpoint({ origin, size: 7, root }, signer, key);
    const rewritten = signed.note.replace(`\n7\n`, "\n8\n");
    expect(readCheckpoint(rewritten, key)).toMatchObject({ ok: false, problem: "bad_signature" });
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
    expect(readCheckpoint(signed.note, other)).toMatchObject({ ok: false, problem: "unsigned" });
    expect(readCheckpoint(signed.note, key, "phigate.log/else")).toMatchObject({
      ok: false,
      problem: "wrong_origin",
    });
    const renamed = signed.note.replace(`\u2014 ${origin} `, "\u2014 someone.else ");
    expect(readCheckpoint(renamed, key)).toMatchObject({ ok: false, problem: "unsigned" });
    for (const bad of [
      signed.note.replace("\n\n", "\n"),
      signed.note.replace("\n7\n", "\n07\n"),
      signed.note.replace("\n7\n", "\n-7\n"),
      signed.note.replace(Buffer.from(root).toString("base64"), "AAAA"),
      signed.note.slice(0, -1),
      signed.note.replace("\n7", "\n7\u0007"),
    ]) {
      expect(readCheckpoint(bad, key), JSON.stringify(bad)).toMatchObject({
        ok: false,
        problem: "malformed",
      });
    }
  });
});
