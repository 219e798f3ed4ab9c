// Lambda entry of GET /v1/catalog: the policy in force over the catalog read through the Data API.

import "#infra/aws/parts/parser-early.ts";
import { serveRoute } from "#infra/aws/compose.ts";
import { rdsDataSql } from "#infra/aws/parts/sql.ts";
import { route } from "#shared/http/handlers/get-catalog.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await serveRoute(route, { sql: rdsDataSql });
