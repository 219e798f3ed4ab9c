// Lambda entry of the HTTP API's REQUEST authorizer (stack option `allowedClaims`): strangers stop at the edge.

import { createEdgeAuthorizer, edgeAuthorizerConfigFromEnv } from "#infra/aws/edge-authorizer.ts";

/** The authorizer, configured once per container during the init phase. */
export const handler = createEdgeAuthorizer(edgeAuthorizerConfigFromEnv(process.env));
