// What operators watch: one alarm per failure mode, all notifying the operators' topic, and one dashboard.

import { Duration } from "aws-cdk-lib";
import type { HttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { IStateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";

/** The custom metrics' namespace (Powertools `POWERTOOLS_METRICS_NAMESPACE`) and the service dimension of a job. */
export const METRICS_NAMESPACE = "phigate";
const service = (functionId: string) => ({ service: `phigate-${functionId}` });

/** What is watched. */
export interface OperationsProps {
  readonly api: HttpApi;
  /** Every function with its timeout (seconds): errors, throttles and near-timeout durations. */
  readonly functions: readonly {
    readonly id: string;
    readonly fn: IFunction;
    readonly timeoutSeconds: number;
  }[];
  readonly stateMachine: IStateMachine;
  readonly tables: readonly { readonly id: string; readonly table: ITable }[];
  readonly approversTopicName: string;
  /** The owned cluster's identifier and maximum ACU (absent for an existing cluster). */
  readonly cluster?: { readonly identifier: string; readonly maxCapacity: number } | undefined;
  readonly dataKey: IKey;
  readonly emails: readonly string[];
}

/** The alarms (by a stable name the tests and docs use) and the dashboard. */
export class Operations extends Construct {
  readonly topic: Topic;
  readonly alarms = new Map<string, Alarm>();
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.topic = new Topic(this, "Topic", {
      displayName: "phigate operators",
      masterKey: props.dataKey,
      enforceSSL: true,
    });
    for (const email of props.emails) this.topic.addSubscription(new EmailSubscription(email));
    const action = new SnsAction(this.topic);
    const alarm = (
      name: string,
      metric: Metric | MathExpression,
      threshold: number,
      description: string,
      options: {
        comparison?: ComparisonOperator;
        missing?: TreatMissingData;
        periods?: number;
      } = {},
    ) => {
      const created = new Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: options.periods ?? 1,
        comparisonOperator: options.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: options.missing ?? TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(action);
      this.alarms.set(name, created);
      return created;
    };
    const five = Duration.minutes(5);

    alarm(
      "Api5xx",
      props.api.metricServerError({ period: five, statistic: "Sum" }),
      1,
      "The HTTP API answered 5xx",
    );
    for (const { id: fnId, fn, timeoutSeconds } of props.functions) {
      alarm(
        `Errors-${fnId}`,
        fn.metricErrors({ period: five, statistic: "Sum" }),
        1,
        `${fnId}: invocations failed`,
      );
      alarm(
        `Throttles-${fnId}`,
        fn.metricThrottles({ period: five, statistic: "Sum" }),
        1,
        `${fnId}: invocations throttled`,
      );
      alarm(
        `NearTimeout-${fnId}`,
        fn.metricDuration({ period: five, statistic: "Maximum" }),
        timeoutSeconds * 1000 * 0.8,
        `${fnId}: an invocation used more than 80% of its ${timeoutSeconds} s timeout`,
      );
    }
    alarm(
      "ApprovalExecutionsFailed",
      props.stateMachine.metricFailed({ period: five, statistic: "Sum" }),
      1,
      "An approval workflow execution failed (its session was failed closed)",
    );
    alarm(
      "ApprovalExecutionsTimedOut",
      props.stateMachine.metricTimedOut({ period: five, statistic: "Sum" }),
      1,
      "An approval workflow execution timed out",
    );
    alarm(
      "EvidenceBundleFailures",
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: "EvidenceBundleFailures",
        dimensionsMap: service("nightly-evidence"),
        period: five,
        statistic: "Sum",
      }),
      1,
      "An evidence bundle could not be built",
    );
    alarm(
      "EvidenceBuildFailures",
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: "EvidenceBuildFailures",
        dimensionsMap: service("evidence-build"),
        period: five,
        statistic: "Sum",
      }),
      1,
      "An evidence bundle an auditor requested failed or ran out of time (marked failed; nothing under it verifies)",
    );
    alarm(
      "NightlyBundleMissing",
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: "EvidenceBundles",
        dimensionsMap: service("nightly-evidence"),
        period: Duration.days(1),
        statistic: "Sum",
      }),
      1,
      "No evidence bundle was sealed in the last day (the nightly job did not run or did not finish)",
      { comparison: ComparisonOperator.LESS_THAN_THRESHOLD, missing: TreatMissingData.BREACHING },
    );
    alarm(
      "OrphanedSessions",
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: "OrphanedSessions",
        dimensionsMap: service("approval-keeper"),
        period: five,
        statistic: "Sum",
      }),
      1,
      "The keeper failed sessions left running by a function that timed out",
    );
    for (const { id: tableId, table } of props.tables) {
      const throttled = (metricName: string) =>
        new Metric({
          namespace: "AWS/DynamoDB",
          metricName,
          dimensionsMap: { TableName: table.tableName },
          period: five,
          statistic: "Sum",
        });
      alarm(
        `DynamoThrottles-${tableId}`,
        new MathExpression({
          expression: "reads + writes",
          usingMetrics: { reads: throttled("ReadThrottleEvents"), writes: throttled("WriteThrottleEvents") },
          period: five,
          label: `${tableId} throttled requests`,
        }),
        1,
        `${tableId}: DynamoDB throttled requests`,
      );
    }
    if (props.cluster !== undefined) {
      alarm(
        "AuroraAtMaxCapacity",
        new Metric({
          namespace: "AWS/RDS",
          metricName: "ServerlessDatabaseCapacity",
          dimensionsMap: { DBClusterIdentifier: props.cluster.identifier },
          period: five,
          statistic: "Maximum",
        }),
        props.cluster.maxCapacity,
        "Aurora ran at its maximum ACU for 15 minutes: raise databaseMaxCapacity",
        { periods: 3 },
      );
    }
    alarm(
      "ApproverNotificationsFailed",
      new Metric({
        namespace: "AWS/SNS",
        metricName: "NumberOfNotificationsFailed",
        dimensionsMap: { TopicName: props.approversTopicName },
        period: five,
        statistic: "Sum",
      }),
      1,
      "SNS could not deliver an approver notification",
    );

    this.dashboard = new Dashboard(this, "Dashboard", { defaultInterval: Duration.hours(24) });
    const graph = (title: string, metrics: (Metric | MathExpression)[]) =>
      new GraphWidget({ title, left: metrics, width: 12, height: 6 });
    this.dashboard.addWidgets(
      graph("API requests and errors", [
        props.api.metricCount({ period: five }),
        props.api.metricClientError({ period: five }),
        props.api.metricServerError({ period: five }),
      ]),
      graph("API latency (p99)", [props.api.metricLatency({ period: five, statistic: "p99" })]),
      graph(
        "Function errors",
        props.functions.map(({ fn }) => fn.metricErrors({ period: five })),
      ),
      graph(
        "Function duration (max)",
        props.functions.map(({ fn }) => fn.metricDuration({ period: five, statistic: "Maximum" })),
      ),
      graph("Approval executions", [
        props.stateMachine.metricStarted({ period: five }),
        props.stateMachine.metricSucceeded({ period: five }),
        props.stateMachine.metricFailed({ period: five }),
        props.stateMachine.metricTimedOut({ period: five }),
      ]),
      graph("Evidence and orphans", [
        ...["EvidenceBundles", "EvidenceBundleFailures"].map(
          (metricName) =>
            new Metric({
              namespace: METRICS_NAMESPACE,
              metricName,
              dimensionsMap: service("nightly-evidence"),
              period: Duration.hours(1),
              statistic: "Sum",
            }),
        ),
        new Metric({
          namespace: METRICS_NAMESPACE,
          metricName: "OrphanedSessions",
          dimensionsMap: service("approval-keeper"),
          period: Duration.hours(1),
          statistic: "Sum",
        }),
      ]),
    );
  }
}
