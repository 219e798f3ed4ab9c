// Builds an evidence bundle straight from a DATA_DIR while no gateway runs on it (the operator's path when the host is down).

import { join, resolve } from "node:path";
import { FileCatalogArchive } from "#infra/local/adapters/file-catalog-archive.ts";
import { FileCheckpointStore } from "#infra/local/adapters/file-checkpoint-store.ts";
import { FileEvidenceStore } from "#infra/local/adapters/file-evidence-store.ts";
import { FileKeyProvider } from "#infra/local/adapters/file-key-provider.ts";
import { FileObjectStore } from "#infra/local/adapters/file-object-store.ts";
import { FilePolicyArchive } from "#infra/local/adapters/file-policy-archive.ts";
import { FileSessionStore } from "#infra/local/adapters/file-session-store.ts";
import { LocalSigner } from "#infra/local/adapters/local-signer.ts";
import { lockDataDir } from "#infra/local/data-dir-lock.ts";
import { type BuiltBundle, buildEvidenceBundle } from "#shared/evidence/build-bundle.ts";
import { ALL_DAYS, createLogSequencer } from "#shared/log/open-log.ts";
import type { Logger } from "#shared/log.ts";
import { systemClock } from "#shared/ports.ts";

/**
 * Takes the DATA_DIR lock (so it refuses while a gateway runs there), opens the journal (which verifies the
 * whole chain), and builds, signs and seals a bundle under DATA_DIR/evidence with the DATA_DIR's key.
 */
export async function buildBundleFromDataDir(
  dataDir: string,
  from: Date,
  to: Date,
  logger: Logger,
): Promise<BuiltBundle> {
  const root = resolve(dataDir);
  const unlock = await lockDataDir(root);
  try {
    const keys = new FileKeyProvider(join(root, "keys"));
    const signer = await LocalSigner.open(join(root, "keys"));
    const log = await createLogSequencer(
      signer,
      new FileCheckpointStore(join(root, "log", "checkpoints")),
      logger,
    );
    const sessions = await FileSessionStore.open({ directory: join(root, "sessions"), logger });
    try {
      await log.start(sessions.entries(ALL_DAYS.from, ALL_DAYS.to));
      return await buildEvidenceBundle(
        {
          sessions,
          objects: new FileObjectStore({
            directory: join(root, "objects"),
            linkKey: await keys.key("result-link"),
            baseUrl: () => "http://127.0.0.1",
          }),
          policies: new FilePolicyArchive(join(root, "policies")),
          catalogs: new FileCatalogArchive(join(root, "catalogs")),
          signer,
          log,
          evidence: new FileEvidenceStore(join(root, "evidence")),
          clock: systemClock,
          logger,
        },
        from,
        to,
      );
    } finally {
      await log.close();
      await sessions.close();
    }
  } finally {
    await unlock();
  }
}
