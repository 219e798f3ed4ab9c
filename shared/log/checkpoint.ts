// Checkpoints in the C2SP tlog-checkpoint signed-note format, signed with the evidence key (note signature type 0x02, ECDSA P-256).

import { createHash, type KeyObject, verify } from "node:crypto";
import { HASH_SIZE } from "#shared/log/merkle.ts";
import type { Signer } from "#shared/ports.ts";

/**
 * C2SP signed-note signature type 0x02: ECDSA as implemented by transparency-dev/witness. The signature is DER
 * ECDSA over SHA-256 of the note text, which is exactly what the evidence `Signer` (local key or KMS `Sign` with
 * `MessageType: DIGEST`) produces; Ed25519 (type 0x01) is not available from KMS, so the evidence key signs as 0x02.
 */
export const NOTE_SIGNATURE_TYPE_ECDSA = 0x02;

/** What a checkpoint states: the log's origin, its size and the root hash of the tree of that size. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Uint8Array;
}

/** A checkpoint with the signed note it was read from. */
export interface SignedCheckpoint extends Checkpoint {
  readonly note: string;
}

const EM_DASH = "\u2014";
const SIZE_PATTERN = /^(0|[1-9][0-9]{0,15})$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/]+={0,2}$/;

/** The key ID of a type 0x02 note key: the first four bytes of SHA-256 over the DER SubjectPublicKeyInfo. */
export function noteKeyId(publicKey: KeyObject): Uint8Array {
  const spki = publicKey.export({ type: "spki", format: "der" });
  return Uint8Array.from(createHash("sha256").update(spki).digest().subarray(0, 4));
}

/** The checkpoint's note text: origin, decimal size and base64 root, one per line. */
export function checkpointText(checkpoint: Checkpoint): string {
  if (!validOrigin(checkpoint.origin))
    throw new TypeError("a checkpoint origin is one line of visible characters");
  if (!Number.isSafeInteger(checkpoint.size) || checkpoint.size < 0)
    throw new RangeError("bad checkpoint size");
  if (checkpoint.root.length !== HASH_SIZE) throw new TypeError("a checkpoint root is 32 bytes");
  return `${checkpoint.origin}\n${checkpoint.size}\n${Buffer.from(checkpoint.root).toString("base64")}\n`;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x0a) || code === 0x7f) return true;
  }
  return false;
}

function validOrigin(origin: string): boolean {
  return origin.length > 0 && origin.length <= 256 && /^[!-~]+$/.test(origin) && !origin.includes("+");
}

/**
 * Signs a checkpoint: the note text, a blank line and one signature line by the key named after the origin
 * (`— <origin> base64(key ID || DER signature)`).
 */
export async function signCheckpoint(
  checkpoint: Checkpoint,
  signer: Signer,
  publicKey: KeyObject,
): Promise<SignedCheckpoint> {
  const text = checkpointText(checkpoint);
  const digest = createHash("sha256").update(text, "utf8").digest();
  const signature = await signer.signDigest(digest);
  const blob = Buffer.concat([noteKeyId(publicKey), signature]).toString("base64");
  return {
    ...checkpoint,
    root: Uint8Array.from(checkpoint.root),
    note: `${text}\n${EM_DASH} ${checkpoint.origin} ${blob}\n`,
  };
}

/** Why a note is not a checkpoint signed by the trusted key. */
export type CheckpointProblem = "malformed" | "unsigned" | "bad_signature" | "wrong_origin";

/** The outcome of reading a checkpoint note. */
export type CheckpointReading =
  | { readonly ok: true; readonly checkpoint: SignedCheckpoint }
  | { readonly ok: false; readonly problem: CheckpointProblem; readonly message: string };

function fail(problem: CheckpointProblem, message: string): CheckpointReading {
  return { ok: false, problem, message };
}

/**
 * Reads a signed checkpoint note and checks its signature by `publicKey` (the trusted evidence key). A signature
 * line counts as the trusted key's when its key name is the origin and its key ID is the key's; a note without one
 * is `unsigned`, one whose signature does not verify is `bad_signature`. With `origin`, the origin must match.
 */
export function readCheckpoint(note: string, publicKey: KeyObject, origin?: string): CheckpointReading {
  if (note.length > 64 * 1024 || !note.endsWith("\n") || hasControlCharacter(note)) {
    return fail("malformed", "the checkpoint is not a signed note");
  }
  const split = note.lastIndexOf("\n\n");
  if (split < 0) return fail("malformed", "the checkpoint has no signature lines");
  const text = note.slice(0, split + 1);
  const signatureLines = note.slice(split + 2, -1).split("\n");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) return fail("malformed", "the checkpoint has fewer than three lines");
  const [originLine, sizeLine, rootLine] = lines as [string, string, string];
  if (!validOrigin(originLine) || !SIZE_PATTERN.test(sizeLine) || !BASE64_PATTERN.test(rootLine)) {
    return fail("malformed", "the checkpoint's origin, size or root line is malformed");
  }
  const size = Number(sizeLine);
  const root = Uint8Array.from(Buffer.from(rootLine, "base64"));
  if (
    !Number.isSafeInteger(size) ||
    root.length !== HASH_SIZE ||
    Buffer.from(root).toString("base64") !== rootLine
  ) {
    return fail("malformed", "the checkpoint's size or root is out of range");
  }
  if (origin !== undefined && originLine !== origin) {
    return fail("wrong_origin", `the checkpoint is for log ${originLine}, not ${origin}`);
  }
  if (signatureLines.length === 0 || signatureLines.length > 16) {
    return fail("malformed", "the checkpoint has no or too many signature lines");
  }
  const keyId = Buffer.from(noteKeyId(publicKey));
  let verified = false;
  for (const line of signatureLines) {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line);
    if (match === null) return fail("malformed", "a signature line is malformed");
    const blob = Buffer.from(match[2] as string, "base64");
    if (blob.length < 5) return fail("malformed", "a signature line is too short");
    if (match[1] !== originLine || !blob.subarray(0, 4).equals(keyId)) continue;
    let valid = false;
    try {
      valid = verify(
        "sha256",
        Buffer.from(text, "utf8"),
        { key: publicKey, dsaEncoding: "der" },
        blob.subarray(4),
      );
    } catch {
      valid = false;
    }
    if (!valid)
      return fail("bad_signature", `the checkpoint of size ${size} is not signed by the trusted key`);
    verified = true;
  }
  if (!verified)
    return fail("unsigned", `the checkpoint of size ${size} carries no signature by the trusted key`);
  return { ok: true, checkpoint: { origin: originLine, size, root, note } };
}

/** The log origin for an evidence key: a schema-less name unique to the key (`phigate.log/<fingerprint prefix>`). */
export function logOrigin(fingerprint: string): string {
  return `phigate.log/${fingerprint.slice(0, 16)}`;
}
