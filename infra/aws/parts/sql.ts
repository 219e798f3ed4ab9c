// The SQL part: the RDS Data API executor and the statement analyzer (entries of functions with `database`).

import { RDSDataClient } from "@aws-sdk/client-rds-data";
import { RdsDataExecutor } from "#infra/aws/adapters/rds-data-executor.ts";
import type { SqlParts } from "#infra/aws/parts.ts";
import { createStatementAnalyzer } from "#shared/sql/statement-analyzer.ts";

/** Statements run through the Data API, analyzed by PostgreSQL's parser against the catalog it reads. */
export const rdsDataSql: SqlParts = {
  client: () => new RDSDataClient({}),
  executor: (options) => new RdsDataExecutor(options),
  analyzer: (executor, _logger, archive) =>
    createStatementAnalyzer(executor, archive === undefined ? {} : { archive }),
};
