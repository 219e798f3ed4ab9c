// Telemetry of the background functions (workflow tasks, keeper, nightly bundle): EMF metrics and X-Ray SDK subsegments.

import { Tracer } from "@aws-lambda-powertools/tracer";
import { type JobTelemetryFactory, metricsTelemetry } from "./job-metrics.ts";

/**
 * `metricsTelemetry` with SDK clients traced by Powertools Tracer. The tracer costs ~130 KB and ~50 ms of cold start,
 * so only background functions off the query path load it, where a slow DynamoDB, Step Functions or S3 call inside a
 * workflow run is worth seeing; the API routes and the approved-statement runner rely on Lambda's active tracing alone.
 */
export const tracedTelemetry: JobTelemetryFactory = (serviceName) => {
  const tracer = new Tracer({ serviceName, captureHTTPsRequests: false });
  return { ...metricsTelemetry(serviceName), instrument: (client) => tracer.captureAWSv3Client(client) };
};
