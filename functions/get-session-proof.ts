// Lambda entry of GET /v1/sessions/{id}/proof: a session's inclusion proofs against the sequencer's latest checkpoint.

import { serveRoute } from "#infra/aws/compose.ts";
import { signerPart } from "#infra/aws/parts/signer.ts";
import { route } from "#shared/http/handlers/get-session-proof.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await serveRoute(route, { signer: signerPart });
