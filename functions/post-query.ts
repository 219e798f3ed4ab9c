// Lambda entry of POST /v1/queries: the composition root plus the SQL side (Data API executor, statement analyzer).

import { composeHandler } from "#shared/adapters/aws/compose.ts";
import { RdsDataExecutor } from "#shared/adapters/aws/rds-data-executor.ts";
import { createPostQueryHandler } from "#shared/http/handlers/post-query.ts";
import { createStatementAnalyzer } from "#shared/sql/analyzer.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await composeHandler("post-query", createPostQueryHandler, {
  executor: (options) => new RdsDataExecutor(options),
  analyzer: (executor) => createStatementAnalyzer(executor),
});
