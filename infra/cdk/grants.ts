// Least privilege: the exact IAM statements a function's capabilities call for, nothing broader.

import { Stack, Validations } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { Effect, type ManagedPolicy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import type { IConstruct } from "constructs";
import { OPEN_INDEX } from "#infra/aws/adapters/approval-item.ts";
import { TURN_KEY_PREFIX } from "#infra/aws/adapters/dynamo-caller-turns.ts";
import { EVIDENCE_JOB_PREFIX } from "#infra/aws/adapters/dynamo-evidence-jobs.ts";
import { READS_KEY_PREFIX } from "#infra/aws/adapters/dynamo-read-ledger.ts";
import { KEY_PREFIXES, RUNNING_INDEX } from "#infra/aws/adapters/dynamo-session-store.ts";
import { CATALOGS_PREFIX } from "#infra/aws/adapters/s3-catalog-archive.ts";
import { CHECKPOINTS_PREFIX } from "#infra/aws/adapters/s3-checkpoint-store.ts";
import { BUNDLES_PREFIX } from "#infra/aws/adapters/s3-evidence-store.ts";
import { POLICIES_PREFIX } from "#infra/aws/adapters/s3-policy-archive.ts";
import type { FunctionCapabilities } from "#shared/capabilities.ts";
import { RESULTS_PREFIX } from "#shared/sessions/run-statement.ts";

/** The resources a function may be granted. */
export interface GrantTargets {
  readonly sessions: ITable;
  readonly approvals: ITable;
  readonly results: IBucket;
  readonly evidence: IBucket;
  readonly dataKey: IKey;
  readonly signingKey: IKey;
  readonly keyMaterial: ISecret;
  readonly topic: ITopic;
  /** The approval state machine's ARN (formatted from its fixed name, so functions and the machine form no cycle). */
  readonly stateMachineArn: string;
  /** The evidence-build state machine's ARN (formatted from its fixed name, like the approval machine's). */
  readonly evidenceMachineArn: string;
  /** The approver OIDC client secret and the KMS key encrypting it, when configured. */
  readonly clientSecret?: { readonly secretArn: string; readonly keyArn?: string | undefined } | undefined;
  readonly database: {
    readonly clusterArn: string;
    readonly secretArn: string;
    readonly secretKeyArns: readonly string[];
  };
}

/** Leading-key patterns of the session table's items (`DynamoSessionStore`). */
const SESSION_KEYS = `${KEY_PREFIXES.session}*`;
const ENTRY_KEYS = `${KEY_PREFIXES.entry}*`;
const CHAIN_KEYS = `${KEY_PREFIXES.chain}*`;
const IDEMPOTENCY_KEYS = `${KEY_PREFIXES.idempotency}*`;
const READ_KEYS = `${READS_KEY_PREFIX}*`;
const TURN_KEYS = `${TURN_KEY_PREFIX}*`;

/** Actions of writing one object once (a streamed put is a multipart upload). */
const PUT_OBJECT = ["s3:AbortMultipartUpload", "s3:PutObject"];

function bucketLogicalId(scope: IConstruct, bucket: IBucket): string {
  return Stack.of(scope).getLogicalId(bucket.node.defaultChild as never);
}

/** What each step of `grantCapabilities` works with: the capabilities, the resources, and where statements go. */
interface Grant {
  readonly scope: IConstruct;
  readonly can: FunctionCapabilities;
  readonly targets: GrantTargets;
  /** Adds one statement (its actions sorted) to the function's policy. */
  readonly add: (
    sid: string,
    actions: string[],
    resources: string[],
    conditions?: Record<string, unknown>,
  ) => void;
  /** Object-ARN patterns granted, acknowledged with their reasons at the end. */
  readonly wildcards: { resource: string; reason: string }[];
}

/**
 * Adds the statements for `capabilities` to `policy`, and acknowledges on `scope` the object-ARN patterns (S3 object
 * actions name objects by prefix) and the X-Ray statement (X-Ray has no resource-level permissions) with reasons.
 */
export function grantCapabilities(
  scope: IConstruct,
  policy: ManagedPolicy,
  capabilities: FunctionCapabilities,
  targets: GrantTargets,
): void {
  const add = (sid: string, actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
    policy.addStatements(
      new PolicyStatement({
        sid,
        effect: Effect.ALLOW,
        actions: [...actions].sort(),
        resources,
        ...(conditions === undefined ? {} : { conditions }),
      }),
    );
  const grant: Grant = { scope, can: capabilities, targets, add, wildcards: [] };
  grantSessions(grant);
  grantEvidenceJobs(grant);
  grantLog(grant);
  grantResults(grant);
  grantDataKey(grant);
  grantApprovals(grant);
  grantEvidence(grant);
  grantSignIn(grant);
  grantDatabase(grant);
  grantTracing(grant);
}

/** The session table: items by leading key, the day's chain, the running-sessions index. */
function grantSessions({ can, targets, add }: Grant): void {
  if (can.sessions !== "none") {
    const write = can.sessions === "write";
    // A session's record is its latest entry item (`entry#<sessionId>`); writers put entries and latest-version
    // items and never the chain, which only the sequencer writes (the deciders read its head: the policy in force
    // before the policy-state item existed, and where the day's chain starts).
    add(
      "SessionTable",
      write ? ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"] : ["dynamodb:GetItem"],
      [targets.sessions.tableArn],
      {
        "ForAllValues:StringLike": {
          "dynamodb:LeadingKeys": write
            ? [SESSION_KEYS, ENTRY_KEYS, IDEMPOTENCY_KEYS]
            : can.sessions === "chain"
              ? [SESSION_KEYS, ENTRY_KEYS, CHAIN_KEYS]
              : [SESSION_KEYS, ENTRY_KEYS],
        },
      },
    );
    if (write && (can.database || can.policyArchive === "write")) {
      add("ChainHead", ["dynamodb:GetItem"], [targets.sessions.tableArn], {
        "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [CHAIN_KEYS] },
      });
    }
    // Reading the chain queries one `chain#<day>` partition at a time (`DynamoSessionStore.entries`).
    if (can.sessions === "chain") {
      add("SessionChain", ["dynamodb:Query"], [targets.sessions.tableArn], {
        "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [CHAIN_KEYS] },
      });
    }
    // A function that decides statements (it runs them and completes sessions) counts a caller's reads per window
    // and adds a completed session's rows: the read ledger's `reads#` items (`DynamoReadLedger`), nothing else.
    if (write && can.database) {
      add("ReadLedger", ["dynamodb:Query", "dynamodb:UpdateItem"], [targets.sessions.tableArn], {
        "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [READ_KEYS] },
      });
      // And takes the caller's turn for a windowed statement: the `turn#` lease items (`DynamoCallerTurns`).
      add("CallerTurns", ["dynamodb:PutItem", "dynamodb:DeleteItem"], [targets.sessions.tableArn], {
        "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [TURN_KEYS] },
      });
    }
  }
  if (can.sweepsSessions) {
    add("RunningSessions", ["dynamodb:Query"], [`${targets.sessions.tableArn}/index/${RUNNING_INDEX}`]);
  }
}

/** Evidence-build job records in the session table, and starting a build. */
function grantEvidenceJobs({ can, targets, add }: Grant): void {
  if (can.evidenceJobs !== "none") {
    const actions = {
      read: ["dynamodb:GetItem"],
      start: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
      run: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
    }[can.evidenceJobs];
    add("EvidenceJobs", actions, [targets.sessions.tableArn], {
      "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${EVIDENCE_JOB_PREFIX}*`] },
    });
  }
  if (can.evidenceJobs === "start") {
    add("StartEvidenceBuild", ["states:StartExecution"], [targets.evidenceMachineArn]);
  }
}

/** The AWS transparency log: the one sequencer's chain, index, head and checkpoints; proof readers' checkpoints. */
function grantLog({ can, targets, add, scope, wildcards }: Grant): void {
  if (can.log === "sequence") {
    add(
      "LogSequencer",
      ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
      [targets.sessions.tableArn],
      { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [CHAIN_KEYS, ENTRY_KEYS] } },
    );
    add("LogSequencerChain", ["dynamodb:Query"], [targets.sessions.tableArn], {
      "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [CHAIN_KEYS] },
    });
    // The start-up gap scan reads entries the stream no longer holds; Scan has no leading key to condition on.
    add("LogGapScan", ["dynamodb:Scan"], [targets.sessions.tableArn]);
  }
  // A function that signs evidence already holds the key (SignEvidence below).
  if (can.log !== "none" && !can.evidence) {
    add("LogKey", can.log === "sequence" ? ["kms:GetPublicKey", "kms:Sign"] : ["kms:GetPublicKey"], [
      targets.signingKey.keyArn,
    ]);
  }
  if (can.log === "sequence" || (can.log === "read" && can.evidence)) {
    add(
      "LogCheckpoints",
      ["s3:GetObject", ...PUT_OBJECT],
      [targets.evidence.arnForObjects(`${CHECKPOINTS_PREFIX}*`)],
    );
    wildcards.push({
      resource: `<${bucketLogicalId(scope, targets.evidence)}.Arn>/${CHECKPOINTS_PREFIX}*`,
      reason:
        "Checkpoint notes are objects named by tree size under log/checkpoints/ of the evidence bucket; the pattern is " +
        "limited to that prefix, and puts are write-once (If-None-Match) under Object Lock.",
    });
  }
}

/** Result objects under results/, and listing the results bucket. */
function grantResults({ can, targets, add, scope, wildcards }: Grant): void {
  if (can.results !== "none") {
    add("ResultObjects", can.results === "write" ? ["s3:GetObject", ...PUT_OBJECT] : ["s3:GetObject"], [
      targets.results.arnForObjects(`${RESULTS_PREFIX}*`),
    ]);
    // Without it S3 answers 403 (not 404) for a result the lifecycle already removed, and a bundle or a session
    // view would fail as if the store were down; listing reveals only result keys (day and session id).
    add("ResultListing", ["s3:ListBucket"], [targets.results.bucketArn]);
    wildcards.push({
      resource: `<${bucketLogicalId(scope, targets.results)}.Arn>/${RESULTS_PREFIX}*`,
      reason:
        "Object-level S3 actions need an object ARN pattern; this one is limited to the results/ prefix of the " +
        "results bucket, whose keys are generated per session by the gateway.",
    });
  }
}

/** The data key (decrypt to read, encrypt too to write) and the key material secret. */
function grantDataKey({ can, targets, add }: Grant): void {
  const writesData =
    can.sessions === "write" ||
    can.evidenceJobs === "start" ||
    can.evidenceJobs === "run" ||
    can.results === "write" ||
    can.approvals === "write" ||
    can.evidence ||
    can.policyArchive === "write" ||
    can.log === "sequence";
  // The key material secret is encrypted with the data key: reading it needs kms:Decrypt too.
  const readsData =
    can.sessions !== "none" ||
    can.results !== "none" ||
    can.approvals !== "none" ||
    can.evidenceJobs !== "none" ||
    can.keys;
  if (writesData || readsData || can.policyArchive === "read" || can.notify) {
    add(
      "DataKey",
      writesData || can.notify
        ? ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
        : ["kms:Decrypt", "kms:DescribeKey"],
      [targets.dataKey.keyArn],
    );
  }
  if (can.keys) add("KeyMaterial", ["secretsmanager:GetSecretValue"], [targets.keyMaterial.secretArn]);
}

/** The approval table or its open-approvals index, the approval workflow, the approvers' topic. */
function grantApprovals({ can, targets, add }: Grant): void {
  if (can.approvals !== "none") {
    const actions =
      can.approvals === "write"
        ? ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
        : ["dynamodb:GetItem"];
    if (can.approvals !== "list") {
      add("ApprovalTable", actions, [targets.approvals.tableArn], {
        "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["approval#*"] },
      });
    }
    if (can.approvals === "list") {
      add("OpenApprovals", ["dynamodb:Query"], [`${targets.approvals.tableArn}/index/${OPEN_INDEX}`]);
    }
  }
  if (can.workflow === "start") add("StartApproval", ["states:StartExecution"], [targets.stateMachineArn]);
  if (can.workflow === "signal") {
    add(
      "SignalApproval",
      ["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"],
      [targets.stateMachineArn],
    );
  }
  if (can.notify) add("NotifyApprovers", ["sns:Publish"], [targets.topic.topicArn]);
}

/** The evidence signing key, bundle objects, and the policy and catalog archives. */
function grantEvidence({ can, targets, add, scope, wildcards }: Grant): void {
  if (can.evidence) {
    add("SignEvidence", ["kms:GetPublicKey", "kms:Sign"], [targets.signingKey.keyArn]);
    add(
      "EvidenceBundles",
      [...PUT_OBJECT, "s3:DeleteObject"],
      [targets.evidence.arnForObjects(`${BUNDLES_PREFIX}*`)],
    );
    // A missing object answers 404 (not 403) only to a caller allowed to list; the sink also checks an id is free.
    add("EvidenceListing", ["s3:ListBucket"], [targets.evidence.bucketArn]);
    wildcards.push({
      resource: `<${bucketLogicalId(scope, targets.evidence)}.Arn>/${BUNDLES_PREFIX}*`,
      reason:
        "Bundle files are objects under bundles/<bundleId>/ with a fresh random id per bundle; the pattern is limited " +
        "to that prefix of the evidence bucket, and delete only adds delete markers (versions stay under Object Lock).",
    });
  }
  if (can.policyArchive !== "none") {
    add("PolicyArchive", can.policyArchive === "write" ? PUT_OBJECT : ["s3:GetObject"], [
      targets.evidence.arnForObjects(`${POLICIES_PREFIX}*`),
      targets.evidence.arnForObjects(`${CATALOGS_PREFIX}*`),
    ]);
    wildcards.push(
      {
        resource: `<${bucketLogicalId(scope, targets.evidence)}.Arn>/${POLICIES_PREFIX}*`,
        reason:
          "Archived policies are objects named by the SHA-256 of their text under policies/ of the evidence bucket; " +
          "the pattern is limited to that prefix, and puts are write-once (If-None-Match) under Object Lock.",
      },
      {
        resource: `<${bucketLogicalId(scope, targets.evidence)}.Arn>/${CATALOGS_PREFIX}*`,
        reason:
          "Archived catalog snapshots are objects named by the catalog's version digest under catalogs/ of the " +
          "evidence bucket; the pattern is limited to that prefix, and puts are write-once (If-None-Match) under Object Lock.",
      },
    );
  }
}

/** The approver OIDC client secret (and its key), for the sign-in exchange. */
function grantSignIn({ can, targets, add }: Grant): void {
  if (can.signIn === "exchange" && targets.clientSecret !== undefined) {
    add("ApproverClientSecret", ["secretsmanager:GetSecretValue"], [targets.clientSecret.secretArn]);
    if (targets.clientSecret.keyArn !== undefined)
      add("ApproverClientSecretKey", ["kms:Decrypt"], [targets.clientSecret.keyArn]);
  }
}

/** The Data API on the cluster and the database secret (and its keys). */
function grantDatabase({ can, targets, add }: Grant): void {
  if (can.database) {
    add(
      "DataApi",
      ["rds-data:BeginTransaction", "rds-data:ExecuteStatement", "rds-data:RollbackTransaction"],
      [targets.database.clusterArn],
    );
    add("DatabaseSecret", ["secretsmanager:GetSecretValue"], [targets.database.secretArn]);
    const keyArns = targets.database.secretKeyArns.filter((arn) => arn !== targets.dataKey.keyArn);
    if (keyArns.length > 0) add("DatabaseSecretKey", ["kms:Decrypt"], keyArns);
  }
}

/** X-Ray, and the acknowledgements of every wildcard granted (with their reasons). */
function grantTracing({ add, scope, wildcards }: Grant): void {
  add("Tracing", ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], ["*"]);
  Validations.of(scope).acknowledge(
    ...wildcards.map((w) => ({ id: `AwsSolutions-IAM5[Resource::${w.resource}]`, reason: w.reason })),
    {
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions (the service " +
        "authorization reference lists no resource type); this statement holds those two actions only.",
    },
  );
}
