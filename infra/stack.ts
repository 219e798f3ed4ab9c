// The phigate stack: keys, storage, database, the HTTP API, every function, the approval workflow, schedules, nags.

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { CfnOutput, Stack, type StackProps, Validations } from "aws-cdk-lib";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { Construct } from "constructs";
import { ApprovalStateMachine, approvalStateMachineArn } from "#infra/constructs/approval-state-machine.ts";
import { ApproverNotifications } from "#infra/constructs/approver-notifications.ts";
import { Backups } from "#infra/constructs/backups.ts";
import { Database } from "#infra/constructs/database.ts";
import { GatewayApi } from "#infra/constructs/gateway-api.ts";
import { GatewayFunction } from "#infra/constructs/gateway-function.ts";
import { Keys } from "#infra/constructs/keys.ts";
import { Operations } from "#infra/constructs/operations.ts";
import { ReaderRole } from "#infra/constructs/reader-role.ts";
import { Schedules } from "#infra/constructs/schedules.ts";
import { Storage } from "#infra/constructs/storage.ts";
import { grantCapabilities } from "#infra/grants.ts";
import { assertPolicyFitsRoutes } from "#infra/policy-budget.ts";
import { approverProviderOf, jwksUriOf, type Settings } from "#infra/settings.ts";
import { capabilitiesOf, type FunctionCapabilities } from "#shared/adapters/aws/capabilities.ts";
import { ALL_FUNCTIONS, type FunctionDefinition, TASK_FUNCTIONS } from "#shared/adapters/aws/functions.ts";
import { DATA_API_CALL_LIMIT_MS } from "#shared/adapters/aws/rds-data-budget.ts";
import { TASK_NAMES, type TaskName } from "#shared/approval/workflow-description.ts";
import type { LambdaEnvironment } from "#shared/config/lambda-env.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { ROUTES } from "#shared/http/routes.ts";
import type { TrustedIssuer } from "#shared/identity/issuers.ts";
import { parsePolicy } from "#shared/policy/load.ts";
import { CALLBACK_PATH } from "#shared/web/oidc-client.ts";

/** Stack inputs. */
export interface PhigateStackProps extends StackProps {
  readonly settings: Settings;
  /** Repository root (function entries, node_modules, the policy file). */
  readonly projectRoot: string;
}

const NO_VPC = {
  id: "HIPAA.Security-LambdaInsideVPC",
  reason:
    "The functions call only AWS APIs over TLS with IAM (DynamoDB, S3, KMS, Secrets Manager, Step Functions, SNS, " +
    "the RDS Data API); the database is reachable solely through the Data API, so a VPC would add endpoints, not isolation.",
};

/** Why a function has no dead-letter queue, by how it is invoked. */
const NO_DLQ: Readonly<Record<string, string>> = {
  route:
    "The functions are invoked synchronously by API Gateway only; the caller receives every failure, and " +
    "Lambda never retries a synchronous invocation, so a dead-letter queue would never receive anything.",
  task:
    "Workflow tasks are invoked synchronously by Step Functions; a failure returns to the state machine, whose " +
    "Retry and Catch rules (CloseFailed) handle it, so a dead-letter queue would never receive anything.",
  "approval-keeper":
    "The keeper is invoked every minute and keeps no state of its own (it reads the approvals table each run); a " +
    "failed run is superseded by the next one a minute later, so there is nothing to park in a queue.",
  "nightly-evidence":
    "A failed nightly run is retried twice by Lambda and counted in the EvidenceBundleFailures metric; the day it " +
    'missed is rebuilt from the chain at any time by invoking the function with {"day":"YYYY-MM-DD"}.',
};

/** When the keeper fails a `running` session: the longest statement-running function's timeout and a minute more. */
const ORPHAN_AFTER_SECONDS =
  Math.max(...ALL_FUNCTIONS.filter((d) => capabilitiesOf(d.id).database).map((d) => d.timeoutSeconds)) + 60;

/** Reserved concurrency of a function: the keeper and the nightly bundle never need more than one at a time. */
function concurrencyOf(definition: FunctionDefinition, settings: Settings): number {
  return definition.kind === "schedule" ? 1 : settings.reservedConcurrency;
}

function taskFunctionsOf(of: (task: TaskName) => IFunction): Record<TaskName, IFunction> {
  const out: Partial<Record<TaskName, IFunction>> = {};
  for (const task of TASK_NAMES) out[task] = of(task);
  return out as Record<TaskName, IFunction>;
}

/** The AWS host of phigate. */
export class PhigateStack extends Stack {
  /** Every function by id (route ids, `task-<name>`, `approval-keeper`, `nightly-evidence`). */
  readonly functions: ReadonlyMap<string, GatewayFunction>;
  readonly api: GatewayApi;
  readonly storage: Storage;
  readonly database: Database;
  /** The read-only role the functions' Data API calls sign in as. */
  readonly readerRole: ReaderRole;
  readonly keys: Keys;
  readonly notifications: ApproverNotifications;
  readonly approvalWorkflow: ApprovalStateMachine;
  readonly schedules: Schedules;
  /** Alarms, the operators' topic and the dashboard. */
  readonly operations: Operations;
  /** The public base URL the functions are told (context `publicUrl`, else the API endpoint). */
  readonly publicUrl: string;

  constructor(scope: Construct, id: string, props: PhigateStackProps) {
    super(scope, id, props);
    const { settings, projectRoot } = props;
    const policyPath = resolve(projectRoot, settings.policyFile);
    const policyText = readFileSync(policyPath, "utf8");
    assertPolicyFitsRoutes(parsePolicy(policyText, settings.policyFile));

    this.keys = new Keys(this, "Keys");
    this.storage = new Storage(this, "Storage", {
      dataKey: this.keys.data,
      resultRetentionDays: settings.resultRetentionDays,
      resultLockMode: settings.resultLockMode,
      evidenceRetentionDays: settings.evidenceRetentionDays,
    });
    this.database = new Database(this, "Database", {
      dataKey: this.keys.data,
      databaseName: settings.databaseName,
      logBucket: this.storage.accessLogs,
      logsKey: this.keys.logs,
      capacity: {
        min: settings.databaseMinCapacity,
        max: settings.databaseMaxCapacity,
        autoPauseSeconds: settings.databaseAutoPauseSeconds,
      },
      ...(settings.existingClusterArn !== undefined && settings.existingSecretArn !== undefined
        ? {
            existing: {
              clusterArn: settings.existingClusterArn,
              secretArn: settings.existingSecretArn,
              ...(settings.existingSecretKeyArn === undefined
                ? {}
                : { secretKeyArn: settings.existingSecretKeyArn }),
            },
          }
        : {}),
    });

    // The functions sign in as a read-only role, never as the master user: created (owned cluster) and verified
    // (every cluster) by a custom resource before any function can run a statement.
    const ownsCluster = this.database.cluster !== undefined;
    this.readerRole = new ReaderRole(this, "ReaderRole", {
      projectRoot,
      dataKey: this.keys.data,
      logsKey: this.keys.logs,
      clusterArn: this.database.clusterArn,
      database: this.database.databaseName,
      master:
        ownsCluster && settings.readerSecretArn === undefined
          ? { secretArn: this.database.secretArn, keyArns: this.database.secretKeyArns }
          : undefined,
      readerSecret: ownsCluster
        ? settings.readerSecretArn === undefined
          ? undefined
          : { secretArn: settings.readerSecretArn }
        : { secretArn: this.database.secretArn, keyArn: settings.existingSecretKeyArn },
      statementTimeoutMs: DATA_API_CALL_LIMIT_MS,
    });
    if (this.database.cluster !== undefined)
      this.readerRole.resource.node.addDependency(this.database.cluster);

    new Backups(this, "Backups", {
      dataKey: this.keys.data,
      tables: [this.storage.sessions, this.storage.approvals],
      cluster: this.database.cluster,
    });

    this.api = new GatewayApi(this, "Api", {
      issuer: settings.issuer,
      audience: settings.audience,
      logsKey: this.keys.logs,
      rateLimit: settings.throttleRateLimit,
      burstLimit: settings.throttleBurstLimit,
    });
    this.publicUrl = settings.publicUrl?.replace(/\/+$/, "") ?? this.api.api.apiEndpoint;
    this.notifications = new ApproverNotifications(this, "ApproverNotifications", {
      dataKey: this.keys.data,
      emails: settings.approverEmails,
    });

    const stateMachineArn = approvalStateMachineArn(this);
    const ciIssuer: TrustedIssuer = {
      issuer: settings.issuer,
      jwksUri: jwksUriOf(settings),
      audience: [settings.audience],
      groupsClaim: settings.groupsClaim,
    };
    const approver = approverProviderOf(settings);
    const approverOidc =
      approver === undefined
        ? undefined
        : JSON.stringify({
            issuer: approver.issuer,
            authorizationEndpoint: approver.authorizationEndpoint,
            tokenEndpoint: approver.tokenEndpoint,
            clientId: approver.clientId,
          });
    /** The environment a function's capabilities call for (and nothing more). */
    const environmentOf = (
      can: FunctionCapabilities,
    ): Omit<LambdaEnvironment, "PHIGATE_FUNCTION_ID" | "PHIGATE_POLICY_FILE"> => ({
      PHIGATE_SESSIONS_TABLE: this.storage.sessions.tableName,
      PHIGATE_RESULTS_BUCKET: this.storage.results.bucketName,
      PHIGATE_DATA_KEY_ARN: this.keys.data.keyArn,
      // The callback verifies approvers' ID tokens: only it trusts the approver provider (for its client id).
      PHIGATE_ISSUERS: JSON.stringify(
        can.signIn === "exchange" && approver !== undefined
          ? [
              ciIssuer,
              {
                issuer: approver.issuer,
                jwksUri: approver.jwksUri,
                audience: [approver.clientId],
                groupsClaim: approver.groupsClaim,
              },
            ]
          : [ciIssuer],
      ),
      PHIGATE_POLICY_DIGEST: sha256Hex(policyText),
      ...(can.database
        ? {
            PHIGATE_DB_CLUSTER_ARN: this.database.clusterArn,
            PHIGATE_DB_SECRET_ARN: this.readerRole.secretArn,
            PHIGATE_DB_NAME: this.database.databaseName,
          }
        : {}),
      ...(can.keys ? { PHIGATE_KEYS_SECRET_ARN: this.storage.keyMaterial.secretArn } : {}),
      ...(can.approvals !== "none" ? { PHIGATE_APPROVALS_TABLE: this.storage.approvals.tableName } : {}),
      ...(can.workflow === "start" ? { PHIGATE_STATE_MACHINE_ARN: stateMachineArn } : {}),
      ...(can.notify ? { PHIGATE_APPROVERS_TOPIC_ARN: this.notifications.topic.topicArn } : {}),
      ...(can.evidence || can.policyArchive !== "none"
        ? { PHIGATE_EVIDENCE_BUCKET: this.storage.evidence.bucketName }
        : {}),
      ...(can.evidence ? { PHIGATE_SIGNING_KEY_ARN: this.keys.signing.keyArn } : {}),
      ...(can.publicUrl ? { PHIGATE_PUBLIC_URL: this.publicUrl } : {}),
      ...(can.signIn !== "none" && approverOidc !== undefined ? { PHIGATE_APPROVER_OIDC: approverOidc } : {}),
      ...(can.signIn === "exchange" && settings.approverClientSecretArn !== undefined
        ? { PHIGATE_APPROVER_CLIENT_SECRET_ARN: settings.approverClientSecretArn }
        : {}),
      // Longer than any function that runs statements may live: a session still running then was orphaned.
      ...(can.sweepsSessions ? { PHIGATE_ORPHAN_AFTER_SECONDS: String(ORPHAN_AFTER_SECONDS) } : {}),
      POWERTOOLS_METRICS_NAMESPACE: "phigate",
    });

    const functions = new Map<string, GatewayFunction>();
    for (const definition of ALL_FUNCTIONS) {
      const can = capabilitiesOf(definition.id);
      const prefix = { route: "Route", task: "Task", schedule: "Job" }[definition.kind];
      const fn = new GatewayFunction(this, `${prefix}-${definition.id}`, {
        definition,
        projectRoot,
        policyPath,
        logsKey: this.keys.logs,
        reservedConcurrency: concurrencyOf(definition, settings),
        environment: environmentOf(can),
        ...(definition.id === "nightly-evidence" ? { asyncRetryAttempts: 2 } : {}),
        ...(definition.id === "approval-keeper" ? { asyncRetryAttempts: 0 } : {}),
      });
      grantCapabilities(fn, fn.policy, can, {
        sessions: this.storage.sessions,
        approvals: this.storage.approvals,
        results: this.storage.results,
        evidence: this.storage.evidence,
        dataKey: this.keys.data,
        signingKey: this.keys.signing,
        keyMaterial: this.storage.keyMaterial,
        topic: this.notifications.topic,
        stateMachineArn,
        clientSecret:
          settings.approverClientSecretArn === undefined
            ? undefined
            : { secretArn: settings.approverClientSecretArn, keyArn: settings.approverClientSecretKeyArn },
        database: {
          clusterArn: this.database.clusterArn,
          secretArn: this.readerRole.secretArn,
          secretKeyArns: this.readerRole.secretKeyArns,
        },
      });
      if (can.database) fn.function.node.addDependency(this.readerRole.resource);
      Validations.of(fn).acknowledge(NO_VPC, {
        id: "HIPAA.Security-LambdaDLQ",
        reason: NO_DLQ[definition.kind === "schedule" ? definition.id : definition.kind] ?? "",
      });
      functions.set(definition.id, fn);
    }
    this.functions = functions;

    this.api.addRoutes(
      ROUTES,
      new Map<string, IFunction>(ROUTES.map((route) => [route.id, this.fn(route.id).function])),
    );
    this.approvalWorkflow = new ApprovalStateMachine(this, "ApprovalWorkflow", {
      taskFunctions: taskFunctionsOf((task) => this.fn(TASK_FUNCTIONS[task].id).function),
      logsKey: this.keys.logs,
    });
    this.keys.allowSigning(
      ALL_FUNCTIONS.filter((d) => capabilitiesOf(d.id).evidence).map((d) => this.fn(d.id).role),
    );
    this.operations = new Operations(this, "Operations", {
      api: this.api.api,
      functions: ALL_FUNCTIONS.map((d) => ({
        id: d.id,
        fn: this.fn(d.id).function,
        timeoutSeconds: d.timeoutSeconds,
      })),
      stateMachine: this.approvalWorkflow.stateMachine,
      tables: [
        { id: "Sessions", table: this.storage.sessions },
        { id: "Approvals", table: this.storage.approvals },
      ],
      approversTopicName: this.notifications.topic.topicName,
      cluster:
        this.database.cluster === undefined
          ? undefined
          : {
              identifier: this.database.cluster.clusterIdentifier,
              maxCapacity: settings.databaseMaxCapacity,
            },
      dataKey: this.keys.data,
      emails: settings.alarmEmails,
    });
    this.schedules = new Schedules(this, "Schedules", {
      keeper: this.fn("approval-keeper").function,
      nightlyEvidence: this.fn("nightly-evidence").function,
      nightlyAt: settings.nightlyEvidenceAt,
    });

    new CfnOutput(this, "ApiUrl", { value: this.api.api.apiEndpoint });
    new CfnOutput(this, "PublicUrl", { value: this.publicUrl });
    new CfnOutput(this, "ApproverRedirectUri", {
      value: `${this.publicUrl}${CALLBACK_PATH}`,
      description: "Register this redirect URI with the approvers' OIDC provider",
    });
    new CfnOutput(this, "SessionsTable", { value: this.storage.sessions.tableName });
    new CfnOutput(this, "ApprovalsTable", { value: this.storage.approvals.tableName });
    new CfnOutput(this, "ApprovalStateMachine", {
      value: this.approvalWorkflow.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, "ApproversTopic", { value: this.notifications.topic.topicArn });
    new CfnOutput(this, "ResultsBucket", { value: this.storage.results.bucketName });
    new CfnOutput(this, "EvidenceBucket", { value: this.storage.evidence.bucketName });
    new CfnOutput(this, "EvidenceSigningKey", { value: this.keys.signing.keyArn });
    new CfnOutput(this, "DatabaseClusterArn", { value: this.database.clusterArn });
    new CfnOutput(this, "OperatorsTopic", { value: this.operations.topic.topicArn });
  }

  /** The function of an id (every id of `ALL_FUNCTIONS` has one). */
  fn(functionId: string): GatewayFunction {
    const fn = this.functions.get(functionId);
    if (fn === undefined) throw new Error(`no function ${functionId}`);
    return fn;
  }
}
