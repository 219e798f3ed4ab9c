// The log sequencer's composition: the gap scan at cold start, then one sequencer run per stream batch.

import { createPublicKey } from "node:crypto";
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
 * The sequencer's handler, composed at cold start: it first closes gaps the stream can no longer replay (one scan),
 * then sequences each batch. A failure throws, so the mapping retries the same batch.
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
  const scan = await sequencer.scanGaps();
  logger.info("log sequencer started", { ...scan });
  return async (event) => {
    const run = await sequencer.handleRecords(event.Records ?? []);
    logger.info("log batch sequenced", { ...run });
    return { sequenced: run.sequenced, size: run.size };
  };
}
