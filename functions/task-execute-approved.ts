// Lambda entry of the approval task `execute-approved`: runs the recorded statement once (Data API, analyzer, masking).

import { composeTask } from "#infra/aws/compose-jobs.ts";
import { metricsTelemetry } from "#infra/aws/job-metrics.ts";
import { secretsPart } from "#infra/aws/parts/secrets.ts";
import { rdsDataSql } from "#infra/aws/parts/sql.ts";
import { executeApproved } from "#shared/query/execute-approved.ts";

/** The Step Functions task handler, composed once per container during the init phase. */
export const handler = await composeTask(
  "execute-approved",
  executeApproved,
  {
    sql: rdsDataSql,
    secrets: secretsPart,
  },
  // On the query path: Lambda's active tracing only, like post-query (no X-Ray SDK in the bundle).
  { telemetry: metricsTelemetry },
);
