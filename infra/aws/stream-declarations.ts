// Entry points fed by the session table's stream, declared like the jobs: id, capabilities, batching, failure handling.

import type { Capabilities, EntryDeclaration } from "#shared/capabilities.ts";

/** An entry point fed by the session table's stream (an event source mapping), one batch per invocation. */
export interface StreamDeclaration<C extends Capabilities = Capabilities> extends EntryDeclaration<C> {
  readonly description: string;
  /** Records per invocation (a batch's index items and markers stay well inside one run). */
  readonly batchSize: number;
  /** Longest a record waits for its batch to fill (the log's merge delay is this plus one KMS sign and a few writes). */
  readonly batchWindowSeconds: number;
  /** Items the gap scan reads after each batch (one bounded page per invocation, never before the batch). */
  readonly gapScanPageItems: number;
  /** Why a failed batch needs no dead-letter queue. */
  readonly onFailure: string;
}

/** The one sequencer of the transparency log (reserved concurrency 1). */
export const LOG_SEQUENCER = {
  id: "log-sequencer",
  capabilities: { log: "sequence" },
  needsParser: false,
  description:
    "phigate: sequences session entries into the chain and the transparency log, signs checkpoints",
  batchSize: 90,
  batchWindowSeconds: 1,
  gapScanPageItems: 100,
  onFailure:
    "A failed batch is retried by the event source mapping until it succeeds (the stream keeps records 24 hours); " +
    "a run redoes only what its head update did not commit, and the gap scan (one page after each batch, until each container has read the table once) sequences anything older. " +
    "The IteratorAge alarm reports a batch that keeps failing.",
} as const satisfies StreamDeclaration;

/** Every stream-fed entry point of the AWS host. */
export const STREAMS: readonly StreamDeclaration[] = [LOG_SEQUENCER];
