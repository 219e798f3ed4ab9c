// EventBridge schedules: one rule per scheduled job, as its declaration says (every few minutes, or daily at a UTC time).

import { Duration } from "aws-cdk-lib";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import type { JobDeclaration } from "#shared/jobs/job.ts";

/** What the schedules invoke and when. */
export interface SchedulesProps {
  /** Each job with its function. */
  readonly jobs: readonly { readonly job: JobDeclaration; readonly function: IFunction }[];
  /** `HH:MM` UTC: when the daily jobs run. */
  readonly dailyAt: string;
}

/** The rule expression of a job's schedule. */
function scheduleOf(job: JobDeclaration, dailyAt: string): Schedule {
  if (job.schedule.kind === "every") return Schedule.rate(Duration.minutes(job.schedule.minutes));
  if (job.schedule.kind === "requested")
    throw new Error(`${job.id} is started by the gateway, not on a schedule`);
  const [hour, minute] = dailyAt.split(":");
  return Schedule.cron({ minute: String(Number(minute)), hour: String(Number(hour)) });
}

/**
 * A rule per job. A daily job receives the scheduled event, whose `time` is the scheduled time; a job on a rate keeps
 * no state of its own, so a missed run is simply the next one.
 */
export class Schedules extends Construct {
  /** The rule of each job, by job id. */
  readonly rules: ReadonlyMap<string, Rule>;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const rules = new Map<string, Rule>();
    for (const { job, function: fn } of props.jobs) {
      rules.set(
        job.id,
        new Rule(this, job.id, {
          description: job.description,
          schedule: scheduleOf(job, props.dailyAt),
          targets: [
            new LambdaFunction(fn, {
              retryAttempts: job.retries.attempts,
              maxEventAge: Duration.seconds(job.retries.maxEventAgeSeconds),
            }),
          ],
        }),
      );
    }
    this.rules = rules;
  }
}
