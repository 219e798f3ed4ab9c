// The local host's evidence status: bundles are built in the request, so a sealed bundle's folder is its `ready` record.

import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { UnavailableError } from "#shared/errors.ts";
import { BUNDLE_FILES, manifestSchema } from "#shared/evidence/bundle-format.ts";
import {
  BUNDLE_ID_PATTERN,
  type EvidenceJob,
  type EvidenceJobReader,
} from "#shared/evidence/evidence-jobs.ts";

/**
 * Reads `<evidence>/<bundleId>/manifest.json` of a sealed bundle (a bundle is renamed into place only once sealed, so a
 * folder there always has its manifest and signature). Who asked for it is not kept locally.
 */
export class SealedBundleStatus implements EvidenceJobReader {
  constructor(private readonly directory: string) {}

  async get(bundleId: string): Promise<EvidenceJob | undefined> {
    if (!BUNDLE_ID_PATTERN.test(bundleId)) return undefined;
    const folder = join(this.directory, bundleId);
    let text: string;
    try {
      text = await readFile(join(folder, BUNDLE_FILES.manifest), "utf8");
      await stat(join(folder, BUNDLE_FILES.signature));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new UnavailableError("store_unavailable", "the evidence store is unavailable", { cause: error });
    }
    const manifest = manifestSchema.parse(JSON.parse(text));
    return {
      bundleId,
      status: "ready",
      location: folder,
      from: manifest.range.from,
      to: manifest.range.to,
      requestedBy: "",
      requestedAt: manifest.createdAt,
      finishedAt: manifest.createdAt,
      result: {
        keyFingerprint: manifest.signing.keyFingerprint,
        entries: manifest.counts.entries,
        sessions: manifest.counts.sessions,
        ...(manifest.log === undefined ? {} : { log: { start: manifest.log.start, end: manifest.log.end } }),
      },
    };
  }
}
