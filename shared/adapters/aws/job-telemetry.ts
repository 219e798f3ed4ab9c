// Telemetry of the background functions (workflow tasks, keeper, nightly bundle): EMF metrics and X-Ray SDK subsegments.

import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";

/** Counters a job publishes; names and the one `service` dimension only, never an id, SQL or token. */
export interface JobTelemetry {
  /** Adds to a counter of this invocation. */
  count(name: string, value?: number): void;
  /** Flushes the invocation's counters as one EMF log line (call in `finally`). */
  flush(): void;
  /** Wraps an SDK client so each call is an X-Ray subsegment (operation and resource, no payload). */
  instrument<T>(client: T): T;
}

/**
 * Powertools Metrics (EMF: a structured log line CloudWatch turns into metrics, no API call) and Tracer. The tracer
 * costs ~130 KB and ~50 ms of cold start, so only background functions load it, where a slow DynamoDB, Step Functions
 * or S3 call inside a workflow run is worth seeing; the API routes rely on Lambda's active tracing alone.
 */
export function createJobTelemetry(serviceName: string): JobTelemetry {
  const namespace = process.env.POWERTOOLS_METRICS_NAMESPACE ?? "phigate";
  const metrics = new Metrics({ namespace, serviceName });
  const tracer = new Tracer({ serviceName, captureHTTPsRequests: false });
  return {
    count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
    flush: () => metrics.publishStoredMetrics(),
    instrument: (client) => tracer.captureAWSv3Client(client),
  };
}
