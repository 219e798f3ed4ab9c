// Telemetry of the background functions (workflow tasks, keeper, nightly bundle): EMF metrics and X-Ray SDK subsegments.

import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { createJobMetrics, type JobTelemetryFactory } from "./job-metrics.ts";

/**
 * Powertools Metrics and Tracer. The tracer costs ~130 KB and ~50 ms of cold start, so only background functions
 * off the query path load it, where a slow DynamoDB, Step Functions or S3 call inside a workflow run is worth seeing;
 * the API routes and the approved-statement runner rely on Lambda's active tracing alone (`metricsTelemetry`).
 */
export const tracedTelemetry: JobTelemetryFactory = (serviceName) => {
  const metrics = createJobMetrics(serviceName);
  const tracer = new Tracer({ serviceName, captureHTTPsRequests: false });
  return {
    count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
    flush: () => metrics.publishStoredMetrics(),
    instrument: (client) => tracer.captureAWSv3Client(client),
  };
};
