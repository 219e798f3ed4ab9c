// Lambda entry of /mcp: the remote MCP endpoint, with the SQL side (it submits queries as POST /v1/queries does).

import "#infra/aws/parts/parser-early.ts";
import { serveRoute } from "#infra/aws/compose.ts";
import { secretsPart } from "#infra/aws/parts/secrets.ts";
import { rdsDataSql } from "#infra/aws/parts/sql.ts";
import { workflowPart } from "#infra/aws/parts/workflow.ts";
import { route } from "#shared/http/handlers/mcp.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await serveRoute(route, {
  sql: rdsDataSql,
  secrets: secretsPart,
  workflow: workflowPart,
});
