// Builds the log sequencer for a host from its evidence signer and checkpoint store (the origin follows from the key).

import { createPublicKey } from "node:crypto";
import { logOrigin } from "#shared/log/checkpoint.ts";
import type { CheckpointStore } from "#shared/log/log-ports.ts";
import { LogSequencer } from "#shared/log/sequencer.ts";
import type { Logger } from "#shared/log.ts";
import type { Signer } from "#shared/ports.ts";

/** A sequencer signing with `signer` as `phigate.log/<key fingerprint prefix>`; call `start` once the store is open. */
export async function createLogSequencer(
  signer: Signer,
  checkpoints: CheckpointStore,
  logger?: Logger,
  batchDelayMs?: number,
): Promise<LogSequencer> {
  const description = await signer.publicKey();
  return new LogSequencer({
    checkpoints,
    signer,
    publicKey: createPublicKey(description.pem),
    origin: logOrigin(description.fingerprint),
    ...(logger === undefined ? {} : { logger }),
    ...(batchDelayMs === undefined ? {} : { batchDelayMs }),
  });
}

/** Every day the journal could hold: what `SessionStore.entries` is asked for when the whole log is rebuilt. */
export const ALL_DAYS = { from: "0000-01-01", to: "9999-12-31" } as const;
