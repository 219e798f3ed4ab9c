// Lambda entry of GET /approvals/{id}: the approver's page (signs the approver in; highlights the SQL with the scanner).

import "#infra/aws/parts/parser-early.ts";
import { serveRoute } from "#infra/aws/compose.ts";
import { secretsPart } from "#infra/aws/parts/secrets.ts";
import { route } from "#shared/http/handlers/get-approval-page.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await serveRoute(route, { secrets: secretsPart });
