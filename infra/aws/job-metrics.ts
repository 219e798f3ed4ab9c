// Telemetry of a background function without the X-Ray SDK: EMF counters only, SDK clients left as they are.

import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

/** Counters a job publishes; names and the one `service` dimension only, never an id, SQL or token. */
export interface JobTelemetry {
  /** Adds to a counter of this invocation. */
  count(name: string, value?: number): void;
  /** Flushes the invocation's counters as one EMF log line (call in `finally`). */
  flush(): void;
  /** Wraps an SDK client so each call is traced (operation and resource, no payload), or returns it as is. */
  instrument<T>(client: T): T;
}

/** Makes a job's telemetry for its service name (`phigate-<function id>`). */
export type JobTelemetryFactory = (serviceName: string) => JobTelemetry;

/** Powertools Metrics as the job's EMF emitter (a structured log line CloudWatch turns into metrics, no API call). */
function createJobMetrics(serviceName: string): Metrics {
  return new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? "phigate", serviceName });
}

/**
 * EMF counters and nothing else: for a job on the query path (it also ships the parser), which relies on Lambda's
 * active tracing like the API routes and keeps the X-Ray SDK's ~130 KB and ~50 ms of cold start out of its bundle.
 */
export const metricsTelemetry: JobTelemetryFactory = (serviceName) => {
  const metrics = createJobMetrics(serviceName);
  return {
    count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
    flush: () => metrics.publishStoredMetrics(),
    instrument: (client) => client,
  };
};
