// The bundle's outer checks, offline: the manifest, the key and signature, the file set and digests, the policies and catalogs.

import { sha256Hex } from "#shared/crypto/digest.ts";
import { keyFingerprint, parsePublicKey, verifySignature } from "#shared/crypto/signature.ts";
import {
  BUNDLE_FILES,
  catalogPath,
  isSafeBundlePath,
  type Manifest,
  manifestSchema,
  manifestShapeProblem,
  policyPath,
  READABLE_BUNDLE_SCHEMAS,
} from "#shared/evidence/bundle-format.ts";
import {
  BundleReadError,
  hashListed,
  listBundleFolder,
  MAX_CATALOG_BYTES,
  MAX_CATALOGS_TOTAL_BYTES,
  MAX_POLICIES_TOTAL_BYTES,
  MAX_POLICY_BYTES,
  type ReadBudget,
  readCapped,
} from "#shared/evidence/bundle-reader.ts";
import type { Problem } from "#shared/evidence/problems.ts";
import { type LoadedPolicy, parsePolicy } from "#shared/policy/load.ts";
import { parseCatalogSnapshot } from "#shared/sql/catalog-snapshot.ts";
import type { Catalog } from "#shared/sql/types.ts";

/** Whether the signing key was compared with a trusted fingerprint, and how that went. */
export type KeyTrust = "matched" | "mismatched" | "not_checked";

/** The validated manifest, or a sentence saying why the bytes are not one. */
export function parseManifest(bytes: Buffer): Manifest | string {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString("utf8"));
  } catch {
    return "manifest.json is not JSON";
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return `manifest.json is not a ${READABLE_BUNDLE_SCHEMAS.join(" or ")} manifest (${issue?.path.join(".") || "root"}: ${issue?.message ?? "invalid"})`;
  }
  const shape = manifestShapeProblem(parsed.data);
  if (shape !== undefined) return `manifest.json: ${shape}`;
  const unsafe = parsed.data.files.find((f) => !isSafeBundlePath(f.path));
  if (unsafe !== undefined) return `manifest.json lists an unsafe path ${JSON.stringify(unsafe.path)}`;
  const paths = new Set<string>();
  for (const file of parsed.data.files) {
    if (paths.has(file.path)) return `manifest.json lists ${file.path} more than once`;
    if (file.path === BUNDLE_FILES.manifest || file.path === BUNDLE_FILES.signature)
      return `manifest.json lists ${file.path}, which signs the list`;
    paths.add(file.path);
  }
  return parsed.data;
}

/** Checks the bundled key against the manifest and the trusted fingerprint, and the manifest's signature. */
export function checkKey(
  manifest: Manifest,
  manifestBytes: Buffer,
  signature: Buffer,
  pem: Buffer,
  trustedKey: string | undefined,
  problems: Problem[],
): { fingerprint: string | undefined; trust: KeyTrust } {
  const parsed = parsePublicKey(pem.toString("utf8"));
  if ("problem" in parsed) {
    problems.push({ class: "public_key_replaced", message: `public-key.pem ${parsed.problem}` });
    return { fingerprint: undefined, trust: trustedKey === undefined ? "not_checked" : "mismatched" };
  }
  const fingerprint = keyFingerprint(parsed.key);
  if (fingerprint !== manifest.signing.keyFingerprint) {
    problems.push({
      class: "public_key_replaced",
      message: `public-key.pem has fingerprint ${fingerprint}, but the manifest names ${manifest.signing.keyFingerprint}`,
    });
  }
  if (!verifySignature(parsed.key, manifestBytes, signature)) {
    problems.push({
      class: "signature_invalid",
      message:
        "manifest.sig is not a valid ECDSA P-256 / SHA-256 signature of manifest.json by public-key.pem",
    });
  }
  if (trustedKey === undefined) return { fingerprint, trust: "not_checked" };
  if (fingerprint !== trustedKey) {
    problems.push({
      class: "untrusted_key",
      message: `the bundle is signed by key ${fingerprint}, not the trusted key ${trustedKey}`,
    });
    return { fingerprint, trust: "mismatched" };
  }
  return { fingerprint, trust: "matched" };
}

/** The listed files found as regular files, and those whose digest or size differs from the manifest. */
export interface FileCheck {
  readonly present: ReadonlySet<string>;
  readonly altered: ReadonlySet<string>;
}

/**
 * Reports missing and unexpected files (anything but a regular file is unexpected: a symlink, a FIFO, a device);
 * hashes each listed regular file whose size is the manifest's (reading nothing of a file of another size), as far
 * as the read budget allows (a file beyond it is left unread and reported).
 */
export async function checkFiles(
  dir: string,
  manifest: Manifest,
  problems: Problem[],
  budget: ReadBudget,
): Promise<FileCheck> {
  const altered = new Set<string>();
  const { found, truncated } = await listBundleFolder(dir);
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  const own = new Set<string>([BUNDLE_FILES.manifest, BUNDLE_FILES.signature]);
  const present = new Set<string>();
  for (const entry of found) {
    if (own.has(entry.path) || listed.has(entry.path)) {
      if (!entry.regular) {
        problems.push({
          class: "file_unexpected",
          message: `${entry.path} is ${entry.kind}, not a regular file`,
        });
      } else present.add(entry.path);
      continue;
    }
    problems.push({
      class: "file_unexpected",
      message: `${entry.path} is in the bundle but not in the manifest${entry.regular ? "" : ` (${entry.kind})`}`,
    });
  }
  if (truncated) {
    problems.push({
      class: "file_unexpected",
      message: `the bundle folder holds more entries than ${found.length}`,
    });
  }
  for (const file of manifest.files) {
    if (!present.has(file.path)) {
      if (!found.some((f) => f.path === file.path))
        problems.push({
          class: "file_missing",
          message: `${file.path} is listed in the manifest but missing`,
        });
      continue;
    }
    if (file.size > budget.left) {
      present.delete(file.path);
      problems.push({
        class: "file_altered",
        message: `${file.path} was not read: its listed ${file.size} bytes are more than ${budget.reason}`,
      });
      continue;
    }
    budget.left -= file.size;
    try {
      const actual = await hashListed(dir, file.path, file.size);
      if (actual.sha256 !== file.sha256 || actual.size !== file.size) altered.add(file.path);
    } catch (error) {
      present.delete(file.path);
      problems.push({
        class:
          error instanceof BundleReadError && error.reason === "missing" ? "file_missing" : "file_unexpected",
        message: error instanceof Error ? error.message : `${file.path} cannot be read`,
      });
    }
  }
  return { present, altered };
}

/** A listed, present file's bytes (at most `cap`), or undefined with the problem reported under `cls`. */
async function readListed(
  dir: string,
  path: string,
  cap: number,
  cls: Problem["class"],
  problems: Problem[],
): Promise<Buffer | undefined> {
  try {
    return await readCapped(dir, path, cap);
  } catch (error) {
    problems.push({ class: cls, message: error instanceof Error ? error.message : `${path} cannot be read` });
    return undefined;
  }
}

/** Loads every cited policy whose file hashes to its digest; reports the others. */
export async function loadPolicies(
  dir: string,
  manifest: Manifest,
  present: ReadonlySet<string>,
  problems: Problem[],
): Promise<Map<string, LoadedPolicy>> {
  const policies = new Map<string, LoadedPolicy>();
  const listed = new Set(manifest.files.map((f) => f.path));
  let held = 0;
  for (const cited of manifest.policies) {
    if (cited.path !== policyPath(cited.digest) || !listed.has(cited.path)) {
      problems.push({
        class: "policy_missing",
        message: `policy ${cited.digest} is named in the manifest but its file is not listed`,
      });
      continue;
    }
    if (!present.has(cited.path) || policies.has(cited.digest)) continue;
    const bytes = await readListed(dir, cited.path, MAX_POLICY_BYTES, "policy_altered", problems);
    if (bytes === undefined) continue;
    held += bytes.length;
    if (held > MAX_POLICIES_TOTAL_BYTES) {
      problems.push({
        class: "policy_unreadable",
        message: `${cited.path}: the bundle's policies hold more than the ${MAX_POLICIES_TOTAL_BYTES} bytes this verifier reads`,
      });
      continue;
    }
    if (sha256Hex(bytes) !== cited.digest) {
      problems.push({
        class: "policy_altered",
        message: `${cited.path} does not hash to ${cited.digest}: the policy text was changed after the decisions that cite it`,
      });
      continue;
    }
    try {
      policies.set(cited.digest, parsePolicy(bytes.toString("utf8"), cited.path));
    } catch (error) {
      problems.push({
        class: "policy_unreadable",
        message: `${cited.path}: ${error instanceof Error ? (error.message.split("\n")[0] ?? "").slice(0, 500) : "cannot be parsed"}`,
      });
    }
  }
  return policies;
}

/** A bundled catalog snapshot that reads, with the SHA-256 the manifest gives it. */
export interface BundledCatalog {
  readonly catalog: Catalog;
  readonly sha256: string;
}

/** Loads every listed catalog snapshot whose file hashes to its manifest digest and reads; reports the others. */
export async function loadCatalogs(
  dir: string,
  manifest: Manifest,
  present: ReadonlySet<string>,
  problems: Problem[],
): Promise<Map<string, BundledCatalog>> {
  const catalogs = new Map<string, BundledCatalog>();
  const listed = new Set(manifest.files.map((f) => f.path));
  let held = 0;
  for (const cited of manifest.catalogs) {
    if (cited.path !== catalogPath(cited.version) || !listed.has(cited.path)) {
      problems.push({
        class: "catalog_missing",
        message: `catalog ${cited.version} is named in the manifest but its file is not listed`,
      });
      continue;
    }
    if (!present.has(cited.path) || catalogs.has(cited.version)) continue;
    const bytes = await readListed(dir, cited.path, MAX_CATALOG_BYTES, "catalog_altered", problems);
    if (bytes === undefined) continue;
    held += bytes.length;
    if (held > MAX_CATALOGS_TOTAL_BYTES) {
      problems.push({
        class: "catalog_unreadable",
        message: `${cited.path}: the bundle's catalog snapshots hold more than the ${MAX_CATALOGS_TOTAL_BYTES} bytes this verifier reads`,
      });
      continue;
    }
    if (sha256Hex(bytes) !== cited.sha256) {
      problems.push({
        class: "catalog_altered",
        message: `${cited.path} does not hash to ${cited.sha256}: the catalog snapshot was changed after the sessions analyzed against it`,
      });
      continue;
    }
    try {
      const catalog = parseCatalogSnapshot(bytes);
      if (catalog.version !== cited.version)
        throw new TypeError(`it holds catalog version ${catalog.version}`);
      catalogs.set(cited.version, { catalog, sha256: cited.sha256 });
    } catch (error) {
      problems.push({
        class: "catalog_unreadable",
        message: `${cited.path}: ${error instanceof Error ? (error.message.split("\n")[0] ?? "").slice(0, 500) : "cannot be read"}`,
      });
    }
  }
  return catalogs;
}
