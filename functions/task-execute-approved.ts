// Lambda entry of the approval task `execute-approved`: runs the recorded statement once (Data API, analyzer, masking).

import { composeTask } from "#shared/adapters/aws/compose-jobs.ts";
import { RdsDataExecutor } from "#shared/adapters/aws/rds-data-executor.ts";
import { executeApproved } from "#shared/approval/tasks/execute-approved.ts";
import { createStatementAnalyzer } from "#shared/sql/analyzer.ts";

/** The Step Functions task handler, composed once per container during the init phase. */
export const handler = await composeTask("execute-approved", executeApproved, {
  executor: (options) => new RdsDataExecutor(options),
  analyzer: (executor) => createStatementAnalyzer(executor),
});
