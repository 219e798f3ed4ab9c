// Lambda entry of POST /v1/evidence-bundles: builds a signed evidence bundle for an auditor.

import { serveRoute } from "#infra/aws/compose.ts";
import { signerPart } from "#infra/aws/parts/signer.ts";
import { route } from "#shared/http/handlers/post-evidence-bundle.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await serveRoute(route, { signer: signerPart });
