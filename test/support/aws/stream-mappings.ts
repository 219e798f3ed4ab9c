// Lambda's event source mappings on DynamoDB streams, from the template: filtered, batched, one batch at a time, retried.

import type { DynamoDbStandIn, StreamRecordOut } from "./dynamodb.ts";
import type { LambdaHost } from "./lambda-host.ts";
import type { ResolvedStack } from "./template.ts";

/** What the mappings did: invocations, failed ones, and the longest wait from commit to a successful batch's end. */
export interface StreamMappingStats {
  invocations: number;
  failures: number;
  maxMergeDelayMs: number;
  /** Resolves once every mapping has handed every record written so far to its function (the log is sequenced). */
  drained(): Promise<void>;
}

/** Whether `value` matches an EventBridge-style filter pattern (the subset the template uses). */
function matches(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) {
    return pattern.some((rule) => {
      if (rule !== null && typeof rule === "object") {
        const r = rule as { prefix?: string; exists?: boolean };
        if (r.prefix !== undefined) return typeof value === "string" && value.startsWith(r.prefix);
        if (r.exists !== undefined) return (value !== undefined) === r.exists;
        return false;
      }
      return rule === value;
    });
  }
  if (pattern !== null && typeof pattern === "object") {
    if (value === null || typeof value !== "object") {
      // `{exists: false}` leaves may still match an absent branch.
      return Object.values(pattern).every((p) => matches(p, undefined));
    }
    return Object.entries(pattern as Record<string, unknown>).every(([k, p]) =>
      matches(p, (value as Record<string, unknown>)[k]),
    );
  }
  return false;
}

/**
 * Polls each mapping's stream: records passing its filters are batched (up to `BatchSize`, waiting up to
 * `MaximumBatchingWindowInSeconds` after the first), and the function is invoked with `{Records}` one batch at a time;
 * a failed batch is retried whole, as Lambda does for stream sources. `stop` waits for the batch in flight.
 */
export function startStreamMappings(
  stack: ResolvedStack,
  dynamo: DynamoDbStandIn,
  lambda: LambdaHost,
): { stats: StreamMappingStats; stop(): Promise<void> } {
  const behind = new Set<number>();
  const stats: StreamMappingStats = {
    invocations: 0,
    failures: 0,
    maxMergeDelayMs: 0,
    async drained() {
      // A loop that saw nothing pending has passed every record written before this call once it looks again.
      await new Promise((resolve) => setTimeout(resolve, 120));
      while (behind.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    },
  };
  let stopped = false;
  const loops: Promise<void>[] = [];
  for (const mapping of stack.ofType("AWS::Lambda::EventSourceMapping")) {
    const p = mapping.properties as {
      FunctionName: string;
      EventSourceArn: string;
      BatchSize?: number;
      MaximumBatchingWindowInSeconds?: number;
      FilterCriteria?: { Filters?: { Pattern: string }[] };
    };
    const tableName = String(p.EventSourceArn).replace(/\.StreamArn$/, "");
    const fn = [...lambda.functions()].find((f) => f.name === p.FunctionName);
    if (fn === undefined) throw new Error(`no function ${p.FunctionName} for a stream mapping`);
    const patterns = (p.FilterCriteria?.Filters ?? []).map((f) => JSON.parse(f.Pattern) as unknown);
    const passes = (record: StreamRecordOut) =>
      patterns.length === 0 || patterns.some((pattern) => matches(pattern, record));
    const batchSize = p.BatchSize ?? 100;
    const windowMs = (p.MaximumBatchingWindowInSeconds ?? 0) * 1000;
    const loop = loops.length;
    loops.push(
      (async () => {
        let cursor = 0;
        let firstSeenAt: number | undefined;
        while (!stopped) {
          const stream = dynamo.stream(tableName);
          while (cursor < stream.length && !passes(stream[cursor] as StreamRecordOut)) cursor += 1;
          const pending = stream.slice(cursor).filter(passes);
          if (pending.length === 0) behind.delete(loop);
          else behind.add(loop);
          if (pending.length === 0) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            continue;
          }
          firstSeenAt ??= performance.now();
          if (pending.length < batchSize && performance.now() - firstSeenAt < windowMs) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            continue;
          }
          const batch = pending.slice(0, batchSize);
          const last = batch[batch.length - 1] as StreamRecordOut;
          stats.invocations += 1;
          const outcome = await lambda.invoke(
            fn.arn,
            { Records: batch.map(({ committedAt: _, ...record }) => record) },
            "dynamodb",
          );
          if ("error" in outcome) {
            stats.failures += 1;
            await new Promise((resolve) => setTimeout(resolve, 200));
            continue;
          }
          const done = performance.now();
          for (const record of batch)
            stats.maxMergeDelayMs = Math.max(stats.maxMergeDelayMs, done - record.committedAt);
          cursor = stream.indexOf(last) + 1;
          firstSeenAt = undefined;
        }
      })(),
    );
  }
  return {
    stats,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}
