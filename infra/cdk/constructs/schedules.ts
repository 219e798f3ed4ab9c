// EventBridge schedules: the approval keeper every minute, the nightly evidence bundle once a day (UTC).

import { Duration } from "aws-cdk-lib";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";

/** What the schedules invoke and when. */
export interface SchedulesProps {
  readonly keeper: IFunction;
  readonly nightlyEvidence: IFunction;
  /** `HH:MM` UTC. */
  readonly nightlyAt: string;
}

/**
 * The keeper runs every minute (a wait's heartbeat interval is at most 300 s, so it is beaten well within it; a
 * missed run is simply the next one). The nightly bundle runs at `nightlyAt` UTC and receives the scheduled event, whose
 * `time` is the scheduled time, from which it derives the previous UTC day.
 */
export class Schedules extends Construct {
  readonly keeper: Rule;
  readonly nightly: Rule;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const [hour, minute] = props.nightlyAt.split(":");
    this.keeper = new Rule(this, "Keeper", {
      description: "phigate: approval keeper (heartbeats, lost decisions, expired waits)",
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(props.keeper, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });
    this.nightly = new Rule(this, "NightlyEvidence", {
      description: "phigate: evidence bundle of the previous UTC day",
      schedule: Schedule.cron({ minute: String(Number(minute)), hour: String(Number(hour)) }),
      targets: [
        new LambdaFunction(props.nightlyEvidence, {
          retryAttempts: 2,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });
  }
}
