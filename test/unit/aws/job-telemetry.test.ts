// The background functions' traced telemetry is metricsTelemetry (same counters, same flush) with traced clients.

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { expect, it, vi } from "vitest";
import { tracedTelemetry } from "#infra/aws/job-telemetry.ts";

const made = vi.hoisted(() => ({ services: [] as string[] }));

vi.mock("#infra/aws/job-metrics.ts", async (importOriginal) => {
  const actual = await importOriginal<typeof import("#infra/aws/job-metrics.ts")>();
  return {
    ...actual,
    metricsTelemetry: (serviceName: string) => {
      made.services.push(serviceName);
      return actual.metricsTelemetry(serviceName);
    },
  };
});

it("counts and flushes through metricsTelemetry, and hands SDK clients to the tracer", () => {
  const telemetry = tracedTelemetry("phigate-task-plan-wait");
  expect(made.services).toEqual(["phigate-task-plan-wait"]);
  const client = new DynamoDBClient({ region: "eu-west-1" });
  expect(telemetry.instrument(client)).toBe(client);
  const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
  try {
    telemetry.count("decisions");
    telemetry.flush();
  } finally {
    write.mockRestore();
    log.mockRestore();
  }
});
