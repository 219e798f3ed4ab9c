// The log sequencer's event source: the session table's stream, filtered to entry inserts, batched, one at a time.

import { Duration } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Effect, type ManagedPolicy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import {
  EventSourceMapping,
  FilterCriteria,
  FilterRule,
  type IFunction,
  StartingPosition,
} from "aws-cdk-lib/aws-lambda";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import { KEY_PREFIXES } from "#infra/aws/adapters/dynamo-log-items.ts";
import type { StreamDeclaration } from "#infra/aws/stream-declarations.ts";

/** What the mapping connects. */
export interface LogSequencerSourceProps {
  readonly declaration: StreamDeclaration;
  readonly function: IFunction;
  /** The function's own policy (the stream read is granted there, on this stream only). */
  readonly policy: ManagedPolicy;
  readonly table: Table;
  /** Where the iterator-age alarm notifies (the operators' topic). */
  readonly topic: ITopic;
}

/** Oldest record age (ms) after which the sequencer is behind: a batch keeps failing, or the log is not keeping up. */
const ITERATOR_AGE_ALARM_MS = 60_000;

/**
 * The event source mapping of the sequencer: inserts of `entry#` items that carry a record (not the sequencer's own
 * markers), from the oldest record kept, in batches of the declaration's size and window, retried until they succeed
 * (the sequencer is idempotent). The stream read is granted on the table's stream only, and an alarm watches the
 * iterator age.
 */
export class LogSequencerSource extends Construct {
  readonly mapping: EventSourceMapping;
  readonly iteratorAge: Alarm;

  constructor(scope: Construct, id: string, props: LogSequencerSourceProps) {
    super(scope, id);
    const streamArn = props.table.tableStreamArn;
    if (streamArn === undefined) throw new Error("the session table has no stream");
    props.policy.addStatements(
      new PolicyStatement({
        sid: "SessionStream",
        effect: Effect.ALLOW,
        actions: [
          "dynamodb:DescribeStream",
          "dynamodb:GetRecords",
          "dynamodb:GetShardIterator",
          "dynamodb:ListStreams",
        ],
        resources: [streamArn],
      }),
    );
    this.mapping = new EventSourceMapping(this, "Mapping", {
      target: props.function,
      eventSourceArn: streamArn,
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: props.declaration.batchSize,
      maxBatchingWindow: Duration.seconds(props.declaration.batchWindowSeconds),
      parallelizationFactor: 1,
      filters: [
        FilterCriteria.filter({
          eventName: FilterRule.isEqual("INSERT"),
          dynamodb: {
            Keys: { pk: { S: FilterRule.beginsWith(KEY_PREFIXES.entry) } },
            NewImage: { record: { S: FilterRule.exists() } },
          },
        }),
      ],
    });
    this.mapping.node.addDependency(props.policy);
    this.iteratorAge = new Alarm(this, "IteratorAge", {
      metric: new Metric({
        namespace: "AWS/Lambda",
        metricName: "IteratorAge",
        dimensionsMap: { FunctionName: props.function.functionName },
        statistic: "Maximum",
        period: Duration.minutes(1),
      }),
      threshold: ITERATOR_AGE_ALARM_MS,
      evaluationPeriods: 5,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        "The log sequencer is more than a minute behind the session table's stream for 5 minutes: entries are " +
        "recorded but not yet in the chain or a checkpoint (see docs/deploy.md)",
    });
    this.iteratorAge.addAlarmAction(new SnsAction(props.topic));
  }
}
