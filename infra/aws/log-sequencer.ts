// The log sequencer's composition: one sequencer run per stream batch, then one bounded step of the gap scan.

import { createPublicKey } from "node:crypto";
import type { Item } from "#infra/aws/adapters/dynamo-log-items.ts";
import { DynamoLogSequencer, type StreamRecord } from "#infra/aws/adapters/dynamo-log-sequencer.ts";
import { S3CheckpointStore } from "#infra/aws/adapters/s3-checkpoint-store.ts";
import { ConfigurationError } from "#shared/errors.ts";
import { logOrigin } from "#shared/log/checkpoint.ts";
import { type AwsParts, type ComposeOptions, composeFunction } from "./compose.ts";
import { LOG_SEQUENCER } from "./stream-declarations.ts";

function bucketOf(bucket: string | undefined): string {
  if (bucket === undefined) throw new ConfigurationError("the log sequencer needs PHIGATE_EVIDENCE_BUCKET");
  return bucket;
}

/** The stream event Lambda hands the function. */
export interface StreamEvent {
  readonly Records?: readonly StreamRecord[];
}

/**
 * The sequencer's handler, composed at cold start. Each invocation first sequences its batch (signing and publishing
 * the checkpoint), then takes one bounded step of the scan that closes gaps the stream cannot replay, until the
 * container has read the whole table once: the scan never delays a batch's checkpoint, and a batch costs at most one
 * page of it. A failure throws, so the mapping retries the same batch (already sequenced entries are skipped).
 */
export async function serveLogSequencer(
  parts: Pick<AwsParts, "signer">,
  options: ComposeOptions = {},
): Promise<(event: StreamEvent) => Promise<{ sequenced: number; size: number }>> {
  const { config, deps, logger, clients } = await composeFunction(LOG_SEQUENCER, parts, options);
  const description = await deps.signer.publicKey();
  const sequencer = new DynamoLogSequencer({
    client: clients.dynamo,
    tableName: config.sessionsTable,
    signer: deps.signer,
    publicKey: createPublicKey(description.pem),
    origin: logOrigin(description.fingerprint),
    logger,
    checkpoints: new S3CheckpointStore({
      client: clients.s3,
      bucket: bucketOf(config.evidenceBucket),
      kmsKeyArn: config.dataKeyArn,
    }),
  });
  let scan: { done: boolean; next?: Item } = { done: false };
  return async (event) => {
    const run = await sequencer.handleRecords(event.Records ?? []);
    logger.info("log batch sequenced", { ...run });
    if (!scan.done) {
      const step = await sequencer.scanGapsPage(scan.next, LOG_SEQUENCER.gapScanPageItems);
      scan = step.next === undefined ? { done: true } : { done: false, next: step.next };
      logger.info("log gap scan step", {
        sequenced: step.sequenced,
        skipped: step.skipped,
        recovered: step.recovered,
        done: scan.done,
      });
      return { sequenced: run.sequenced + step.sequenced, size: step.size };
    }
    return { sequenced: run.sequenced, size: run.size };
  };
}
