// The phigate stack: keys, storage, database, the HTTP API, every function, the approval workflow, schedules, nags.

import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import { CfnOutput, Stack, type StackProps, Stage, Validations } from "aws-cdk-lib";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { Construct } from "constructs";
import { DATA_API_CALL_LIMIT_MS } from "#infra/aws/adapters/rds-data-budget.ts";
import type { LambdaEnvironment } from "#infra/aws/config.ts";
import type { FunctionDefinition } from "#infra/aws/functions.ts";
import {
  ApprovalStateMachine,
  approvalStateMachineArn,
} from "#infra/cdk/constructs/approval-state-machine.ts";
import { ApproverNotifications } from "#infra/cdk/constructs/approver-notifications.ts";
import { Backups } from "#infra/cdk/constructs/backups.ts";
import { Database } from "#infra/cdk/constructs/database.ts";
import { EdgeAuthorizer } from "#infra/cdk/constructs/edge-authorizer.ts";
import {
  EvidenceBuildMachine,
  evidenceBuildMachineArn,
} from "#infra/cdk/constructs/evidence-build-machine.ts";
import { GatewayApi } from "#infra/cdk/constructs/gateway-api.ts";
import { GatewayFunction } from "#infra/cdk/constructs/gateway-function.ts";
import { Keys } from "#infra/cdk/constructs/keys.ts";
import { LogSequencerSource } from "#infra/cdk/constructs/log-sequencer.ts";
import { Operations } from "#infra/cdk/constructs/operations.ts";
import { ReaderRole } from "#infra/cdk/constructs/reader-role.ts";
import { Schedules } from "#infra/cdk/constructs/schedules.ts";
import { Storage } from "#infra/cdk/constructs/storage.ts";
import { type GrantTargets, grantCapabilities } from "#infra/cdk/grants.ts";
import { stageParsedPolicy } from "#infra/cdk/parsed-policy.ts";
import { assertPolicyFitsRoutes } from "#infra/cdk/policy-budget.ts";
import { approverProviderOf, jwksUriOf, type Settings } from "#infra/cdk/settings.ts";
import { taskFunctionId } from "#shared/approval/tasks/task-declaration.ts";
import { TASK_NAMES, type TaskName } from "#shared/approval/workflow-description.ts";
import type { FunctionCapabilities } from "#shared/capabilities.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import type { TrustedIssuer } from "#shared/identity/issuers.ts";
import { parsePolicy } from "#shared/policy/load.ts";
import { CALLBACK_PATH } from "#shared/web/oidc-client.ts";

/** Stack inputs. */
export interface PhigateStackProps extends StackProps {
  readonly settings: Settings;
  /** Repository root (function entries, node_modules, the policy file). */
  readonly projectRoot: string;
  /** Every function to deploy (`loadFunctions`: the core's routes, workflow tasks and jobs). */
  readonly functions: readonly FunctionDefinition[];
}

/** The job that builds requested evidence bundles (`shared/jobs/evidence-build.ts`). */
const EVIDENCE_BUILD_JOB = "evidence-build";

const NO_VPC = {
  id: "HIPAA.Security-LambdaInsideVPC",
  reason:
    "The functions call only AWS APIs over TLS with IAM (DynamoDB, S3, KMS, Secrets Manager, Step Functions, SNS, " +
    "the RDS Data API); the database is reachable solely through the Data API, so a VPC would add endpoints, not isolation.",
};

/** Why a route or a task has no dead-letter queue (a scheduled job says why itself: `onFailure`). */
const NO_DLQ = {
  route:
    "The functions are invoked synchronously by API Gateway only; the caller receives every failure, and " +
    "Lambda never retries a synchronous invocation, so a dead-letter queue would never receive anything.",
  task:
    "Workflow tasks are invoked synchronously by Step Functions; a failure returns to the state machine, whose " +
    "Retry and Catch rules (CloseFailed) handle it, so a dead-letter queue would never receive anything.",
} as const;

/** Why a function has no dead-letter queue. */
function noDeadLetterQueueReason(definition: FunctionDefinition): string {
  if (definition.kind === "stream") return definition.stream.onFailure;
  return definition.kind === "schedule" ? definition.job.onFailure : NO_DLQ[definition.kind];
}

/** When the keeper fails a `running` session: the longest statement-running function's timeout and a minute more. */
function orphanAfterSeconds(definitions: readonly FunctionDefinition[]): number {
  return Math.max(...definitions.filter((d) => d.capabilities.database).map((d) => d.timeoutSeconds)) + 60;
}

/** Reserved concurrency: a scheduled job one at a time, a requested one its own, the log's one sequencer. */
function concurrencyOf(definition: FunctionDefinition, settings: Settings): number {
  if (definition.kind === "stream") return 1;
  if (definition.kind !== "schedule") return settings.reservedConcurrency;
  return definition.job.schedule.kind === "requested" ? definition.job.schedule.concurrency : 1;
}

/** The approver provider's OIDC settings the sign-in functions are told, as JSON (undefined when none). */
function approverOidcOf(settings: Settings): string | undefined {
  const approver = approverProviderOf(settings);
  return approver === undefined
    ? undefined
    : JSON.stringify({
        issuer: approver.issuer,
        authorizationEndpoint: approver.authorizationEndpoint,
        tokenEndpoint: approver.tokenEndpoint,
        clientId: approver.clientId,
      });
}

/** The environment every function shares, and the values a capability adds (CDK tokens, resolved at deploy). */
interface EnvironmentSources {
  readonly settings: Settings;
  readonly policyText: string;
  readonly stateMachineArn: string;
  readonly evidenceMachineArn: string;
  readonly publicUrl: string;
  readonly storage: Storage;
  readonly keys: Keys;
  readonly database: Database;
  readonly readerRole: ReaderRole;
  readonly notifications: ApproverNotifications;
  /** Longer than any function that runs statements may live: a session still running then was orphaned. */
  readonly orphanAfterSeconds: number;
}

/** The environment a function's capabilities call for (and nothing more). */
function environmentOf(
  can: FunctionCapabilities,
  from: EnvironmentSources,
): Omit<LambdaEnvironment, "PHIGATE_FUNCTION_ID" | "PHIGATE_POLICY_FILE"> {
  const { settings, storage, keys, database } = from;
  const ciIssuer: TrustedIssuer = {
    issuer: settings.issuer,
    jwksUri: jwksUriOf(settings),
    audience: [settings.audience],
    groupsClaim: settings.groupsClaim,
  };
  const approver = approverProviderOf(settings);
  const approverOidc = approverOidcOf(settings);
  return {
    PHIGATE_SESSIONS_TABLE: storage.sessions.tableName,
    PHIGATE_RESULTS_BUCKET: storage.results.bucketName,
    PHIGATE_DATA_KEY_ARN: keys.data.keyArn,
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
    PHIGATE_POLICY_DIGEST: sha256Hex(from.policyText),
    ...(can.database
      ? {
          PHIGATE_DB_CLUSTER_ARN: database.clusterArn,
          PHIGATE_DB_SECRET_ARN: from.readerRole.secretArn,
          PHIGATE_DB_NAME: database.databaseName,
        }
      : {}),
    ...(can.keys ? { PHIGATE_KEYS_SECRET_ARN: storage.keyMaterial.secretArn } : {}),
    ...(can.approvals !== "none" ? { PHIGATE_APPROVALS_TABLE: storage.approvals.tableName } : {}),
    ...(can.workflow === "start" ? { PHIGATE_STATE_MACHINE_ARN: from.stateMachineArn } : {}),
    ...(can.notify ? { PHIGATE_APPROVERS_TOPIC_ARN: from.notifications.topic.topicArn } : {}),
    ...(can.evidence || can.policyArchive !== "none" || can.evidenceJobs === "start" || can.log === "sequence"
      ? { PHIGATE_EVIDENCE_BUCKET: storage.evidence.bucketName }
      : {}),
    ...(can.evidenceJobs === "start" ? { PHIGATE_EVIDENCE_MACHINE_ARN: from.evidenceMachineArn } : {}),
    ...(can.evidence || can.log !== "none" ? { PHIGATE_SIGNING_KEY_ARN: keys.signing.keyArn } : {}),
    ...(can.publicUrl ? { PHIGATE_PUBLIC_URL: from.publicUrl } : {}),
    ...(can.signIn !== "none" && approverOidc !== undefined ? { PHIGATE_APPROVER_OIDC: approverOidc } : {}),
    ...(can.signIn === "exchange" && settings.approverClientSecretArn !== undefined
      ? { PHIGATE_APPROVER_CLIENT_SECRET_ARN: settings.approverClientSecretArn }
      : {}),
    ...(can.sweepsSessions ? { PHIGATE_ORPHAN_AFTER_SECONDS: String(from.orphanAfterSeconds) } : {}),
    POWERTOOLS_METRICS_NAMESPACE: "phigate",
  };
}

/** The AWS host of phigate. */
export class PhigateStack extends Stack {
  /** Every function by id (route ids, `task-<name>`, the job ids). */
  readonly functions: ReadonlyMap<string, GatewayFunction>;
  readonly api: GatewayApi;
  readonly storage: Storage;
  readonly database: Database;
  /** The read-only role the functions' Data API calls sign in as. */
  readonly readerRole: ReaderRole;
  readonly keys: Keys;
  readonly notifications: ApproverNotifications;
  readonly approvalWorkflow: ApprovalStateMachine;
  /** The Lambda authorizer at the edge (context `allowedClaims`), else undefined: the JWT authorizer. */
  readonly edgeAuthorizer: EdgeAuthorizer | undefined;
  /** The workflow that builds each evidence bundle an auditor requests. */
  readonly evidenceBuild: EvidenceBuildMachine;
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
    assertPolicyFitsRoutes(parsePolicy(policyText, settings.policyFile), props.functions);
    const parsedPolicyPath = stageParsedPolicy(
      Stage.of(this)?.outdir ?? tmpdir(),
      policyText,
      settings.policyFile,
    );

    this.keys = new Keys(this, "Keys");
    this.storage = new Storage(this, "Storage", {
      dataKey: this.keys.data,
      resultRetentionDays: settings.resultRetentionDays,
      resultLockMode: settings.resultLockMode,
      evidenceRetentionDays: settings.evidenceRetentionDays,
    });
    this.database = this.addDatabase(settings);
    this.readerRole = this.addReaderRole(settings, projectRoot);
    new Backups(this, "Backups", {
      dataKey: this.keys.data,
      tables: [this.storage.sessions, this.storage.approvals],
      cluster: this.database.cluster,
    });
    this.edgeAuthorizer =
      settings.allowedClaims === undefined
        ? undefined
        : new EdgeAuthorizer(this, "EdgeAuthorizer", {
            projectRoot,
            config: {
              issuer: settings.issuer,
              jwksUri: jwksUriOf(settings),
              audience: settings.audience,
              allowedClaims: settings.allowedClaims,
            },
            logsKey: this.keys.logs,
            reservedConcurrency: settings.reservedConcurrency,
          });
    this.api = new GatewayApi(this, "Api", {
      issuer: settings.issuer,
      audience: settings.audience,
      authorizer: this.edgeAuthorizer?.authorizer,
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
    const evidenceMachineArn = evidenceBuildMachineArn(this);
    this.functions = this.addFunctions(props.functions, {
      settings,
      projectRoot,
      policyPath,
      parsedPolicyPath,
      environment: {
        settings,
        policyText,
        stateMachineArn,
        evidenceMachineArn,
        publicUrl: this.publicUrl,
        storage: this.storage,
        keys: this.keys,
        database: this.database,
        readerRole: this.readerRole,
        notifications: this.notifications,
        orphanAfterSeconds: orphanAfterSeconds(props.functions),
      },
      stateMachineArn,
      evidenceMachineArn,
    });

    this.api.addRoutes(
      props.functions.flatMap((f) => (f.kind === "route" ? [f.route] : [])),
      new Map<string, IFunction>([...this.functions].map(([fid, fn]) => [fid, fn.function])),
    );
    this.approvalWorkflow = new ApprovalStateMachine(this, "ApprovalWorkflow", {
      taskFunctions: taskFunctionsOf((task) => this.fn(taskFunctionId(task)).function),
      logsKey: this.keys.logs,
    });
    this.evidenceBuild = new EvidenceBuildMachine(this, "EvidenceBuild", {
      function: this.fn(EVIDENCE_BUILD_JOB).function,
      logsKey: this.keys.logs,
    });
    this.keys.allowSigning(
      props.functions
        .filter((d) => d.capabilities.evidence || d.capabilities.log !== "none")
        .map((d) => this.fn(d.id).role),
    );
    this.operations = this.addOperations(settings, props.functions);
    for (const f of props.functions) {
      if (f.kind !== "stream") continue;
      const fn = this.fn(f.id);
      const table = this.storage.sessions;
      const topic = this.operations.topic;
      new LogSequencerSource(this, "LogSequencer", {
        declaration: f.stream,
        function: fn.function,
        policy: fn.policy,
        table,
        topic,
      });
    }
    this.schedules = new Schedules(this, "Schedules", {
      jobs: props.functions.flatMap((f) =>
        f.kind === "schedule" && f.job.schedule.kind !== "requested"
          ? [{ job: f.job, function: this.fn(f.id).function }]
          : [],
      ),
      dailyAt: settings.nightlyEvidenceAt,
    });
    this.addOutputs();
  }

  /** The function of an id (every function definition the stack was given has one). */
  fn(functionId: string): GatewayFunction {
    const fn = this.functions.get(functionId);
    if (fn === undefined) throw new Error(`no function ${functionId}`);
    return fn;
  }

  /** The Aurora cluster, or the existing one the settings name. */
  private addDatabase(settings: Settings): Database {
    return new Database(this, "Database", {
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
  }

  /**
   * The read-only role the functions sign in as, never the master user: created (owned cluster) and verified (every
   * cluster) by a custom resource before any function can run a statement.
   */
  private addReaderRole(settings: Settings, projectRoot: string): ReaderRole {
    const ownsCluster = this.database.cluster !== undefined;
    const readerRole = new ReaderRole(this, "ReaderRole", {
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
    if (this.database.cluster !== undefined) readerRole.resource.node.addDependency(this.database.cluster);
    return readerRole;
  }

  /** Alarms per failure mode on the operators' topic, and the dashboard. */
  private addOperations(settings: Settings, definitions: readonly FunctionDefinition[]): Operations {
    return new Operations(this, "Operations", {
      api: this.api.api,
      functions: definitions.map((d) => ({
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
  }

  /** One function per definition, with the environment and the IAM statements its capabilities call for. */
  private addFunctions(
    definitions: readonly FunctionDefinition[],
    from: {
      readonly settings: Settings;
      readonly projectRoot: string;
      readonly policyPath: string;
      readonly parsedPolicyPath: string;
      readonly environment: EnvironmentSources;
      readonly stateMachineArn: string;
      readonly evidenceMachineArn: string;
    },
  ): Map<string, GatewayFunction> {
    const { settings } = from;
    const targets: GrantTargets = {
      sessions: this.storage.sessions,
      approvals: this.storage.approvals,
      results: this.storage.results,
      evidence: this.storage.evidence,
      dataKey: this.keys.data,
      signingKey: this.keys.signing,
      keyMaterial: this.storage.keyMaterial,
      topic: this.notifications.topic,
      stateMachineArn: from.stateMachineArn,
      evidenceMachineArn: from.evidenceMachineArn,
      clientSecret:
        settings.approverClientSecretArn === undefined
          ? undefined
          : { secretArn: settings.approverClientSecretArn, keyArn: settings.approverClientSecretKeyArn },
      database: {
        clusterArn: this.database.clusterArn,
        secretArn: this.readerRole.secretArn,
        secretKeyArns: this.readerRole.secretKeyArns,
      },
    };
    const functions = new Map<string, GatewayFunction>();
    for (const definition of definitions) {
      const prefix = { route: "Route", task: "Task", schedule: "Job", stream: "Stream" }[definition.kind];
      const fn = new GatewayFunction(this, `${prefix}-${definition.id}`, {
        definition,
        projectRoot: from.projectRoot,
        policyPath: from.policyPath,
        parsedPolicyPath: from.parsedPolicyPath,
        logsKey: this.keys.logs,
        reservedConcurrency: concurrencyOf(definition, settings),
        environment: environmentOf(definition.capabilities, from.environment),
        ...(definition.kind === "schedule" && definition.job.schedule.kind !== "requested"
          ? { asyncRetryAttempts: definition.job.retries.attempts }
          : {}),
      });
      grantCapabilities(fn, fn.policy, definition.capabilities, targets);
      if (definition.capabilities.database) fn.function.node.addDependency(this.readerRole.resource);
      Validations.of(fn).acknowledge(NO_VPC, {
        id: "HIPAA.Security-LambdaDLQ",
        reason: noDeadLetterQueueReason(definition),
      });
      functions.set(definition.id, fn);
    }
    return functions;
  }

  private addOutputs(): void {
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
}

function taskFunctionsOf(of: (task: TaskName) => IFunction): Record<TaskName, IFunction> {
  const out: Partial<Record<TaskName, IFunction>> = {};
  for (const task of TASK_NAMES) out[task] = of(task);
  return out as Record<TaskName, IFunction>;
}
