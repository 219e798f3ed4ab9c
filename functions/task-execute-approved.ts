// Lambda entry of the approval task `execute-approved`: runs the recorded statement once (Data API, analyzer, masking).

import "#infra/aws/parts/parser-early.ts";
import { serveTask } from "#infra/aws/compose-jobs.ts";
import { metricsTelemetry } from "#infra/aws/job-metrics.ts";
import { secretsPart } from "#infra/aws/parts/secrets.ts";
import { rdsDataSql } from "#infra/aws/parts/sql.ts";
import { executeApprovedTask } from "#shared/query/execute-approved.ts";

/**
 * The Step Functions task handler, composed once per container during the init phase. On the query path: Lambda's
 * active tracing only, like post-query (no X-Ray SDK in the bundle).
 */
export const handler = await serveTask(
  executeApprovedTask,
  { sql: rdsDataSql, secrets: secretsPart },
  { telemetry: metricsTelemetry },
);
