// A catalog snapshot as archived and bundled: its canonical JSON bytes, their SHA-256, and the version it was loaded as.

import * as z from "zod";
import { canonicalJson } from "#shared/crypto/canonical-json.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import type { Catalog } from "./types.ts";

/** Which catalog a statement was analyzed against: `Catalog.version` and the SHA-256 of its snapshot's bytes. */
export interface CatalogRef {
  readonly version: string;
  readonly sha256: string;
}

/** The form of a catalog version the archives accept as a name (what `CATALOG_SQL` computes: SHA-256 hex). */
export const CATALOG_VERSION_PATTERN = /^[0-9a-f]{64}$/;

/** A catalog's archived form: canonical JSON (sorted keys, no whitespace), so one catalog has one byte string. */
export function catalogSnapshot(catalog: Catalog): { readonly ref: CatalogRef; readonly bytes: Uint8Array } {
  const bytes = Buffer.from(canonicalJson(catalog), "utf8");
  return { ref: { version: catalog.version, sha256: sha256Hex(bytes) }, bytes };
}

const relationKind = z.enum(["table", "view", "matview", "foreign", "partitioned", "sequence", "unknown"]);

const routineSchema = z.strictObject({
  schema: z.string(),
  name: z.string(),
  kinds: z.array(z.enum(["function", "procedure", "aggregate", "window", "operator"])),
  volatility: z.enum(["immutable", "stable", "volatile"]),
  returnsSet: z.literal(true).optional(),
});

const catalogSchema = z.strictObject({
  version: z.string().min(1),
  searchPath: z.array(z.string()),
  relations: z.array(
    z.strictObject({
      schema: z.string(),
      table: z.string(),
      kind: relationKind,
      columns: z.array(
        z.strictObject({ name: z.string(), type: z.string(), unique: z.literal(true).optional() }),
      ),
      definition: z.string().optional(),
    }),
  ),
  routines: z.array(routineSchema).optional(),
  builtins: z.array(routineSchema).optional(),
});

/** Reads a snapshot back; throws `TypeError` naming the first problem when the bytes are not one. */
export function parseCatalogSnapshot(bytes: Uint8Array): Catalog {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw new TypeError("the catalog snapshot is not JSON");
  }
  const parsed = catalogSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TypeError(
      `the catalog snapshot is not a catalog (${issue?.path.join(".") || "root"}: ${issue?.message ?? "invalid"})`,
    );
  }
  return parsed.data;
}
