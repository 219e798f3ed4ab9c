// Lambda entry of the log sequencer: the session table's stream (entry inserts) in, the chain and signed checkpoints out.

import { serveLogSequencer } from "#infra/aws/log-sequencer.ts";
import { signerPart } from "#infra/aws/parts/signer.ts";

/** The stream handler, composed once per container during the init phase (the gap scan runs after batches). */
export const handler = await serveLogSequencer({ signer: signerPart });
