// The adapter builders an entry hands its composition root: only the ones its capabilities use end up in its bundle.

import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { KMSClient } from "@aws-sdk/client-kms";
import type { RDSDataClient } from "@aws-sdk/client-rds-data";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SFNClient } from "@aws-sdk/client-sfn";
import type { SNSClient } from "@aws-sdk/client-sns";
import type { DatabaseConfig } from "#infra/aws/config.ts";
import type { Capabilities } from "#shared/capabilities.ts";
import type { EvidenceJobLauncher } from "#shared/evidence/evidence-jobs.ts";
import type { CheckpointStore, TransparencyLog } from "#shared/log/log-ports.ts";
import type { Logger } from "#shared/log.ts";
import type {
  ApprovalWorkflow,
  CatalogArchive,
  EvidenceStore,
  KeyProvider,
  Notifier,
  Signer,
  SqlExecutor,
  StatementAnalyzer,
} from "#shared/ports.ts";

/** The SQL side: the Data API client, the executor over it and the statement analyzer (the parser's WASM). */
export interface SqlParts {
  client(): RDSDataClient;
  executor(options: DatabaseConfig & { client: RDSDataClient; logger: Logger }): SqlExecutor;
  /** `archive`: where the analyzer archives each catalog snapshot it loads (functions that decide). */
  analyzer(
    executor: SqlExecutor,
    logger: Logger,
    archive: CatalogArchive | undefined,
  ): StatementAnalyzer | Promise<StatementAnalyzer>;
}

/** Secrets Manager: the key material's purpose keys and the approver OIDC client secret. */
export interface SecretsPart {
  client(): SecretsManagerClient;
  keys(client: SecretsManagerClient, secretArn: string): KeyProvider;
  clientSecret(client: SecretsManagerClient, secretArn: string): Promise<string>;
}

/** Step Functions: starting approval executions and completing their task tokens. */
export interface WorkflowPart {
  client(): SFNClient;
  workflow(client: SFNClient, stateMachineArn: string | undefined): ApprovalWorkflow;
}

/** Step Functions: starting the build of a requested evidence bundle. */
export interface EvidenceJobsPart {
  client(): SFNClient;
  launcher(client: SFNClient, stateMachineArn: string, bucket: string): EvidenceJobLauncher;
}

/** SNS: the approvers' topic. */
export interface NotifierPart {
  client(): SNSClient;
  notifier(client: SNSClient, topicArn: string): Notifier;
}

/**
 * KMS, and what only functions that sign evidence or serve the log use: the signer, the log view over the
 * sequencer's items, and the evidence and checkpoint stores (so the other functions' bundles do not carry them).
 */
export interface SignerPart {
  client(): KMSClient;
  signer(client: KMSClient, keyId: string): Signer;
  /** The read-only log view, checking what it reads against `signer`'s key. */
  log(options: {
    client: DynamoDBClient;
    tableName: string;
    signer: Signer;
    checkpoints?: Pick<CheckpointStore, "put" | "get">;
  }): Promise<TransparencyLog>;
  /** Checkpoint notes of exact sizes (functions that build bundles). */
  checkpoints(options: ObjectStoreOptions): Pick<CheckpointStore, "put" | "get">;
  /** Where evidence bundles are written. */
  evidence(options: ObjectStoreOptions): EvidenceStore;
}

/** An S3 store's client, bucket and the KMS key its objects are encrypted under. */
export interface ObjectStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  readonly kmsKeyArn: string;
}

/**
 * What an entry supplies beyond DynamoDB and S3 (which every function uses). Passing builders rather than importing
 * every adapter in the composition root keeps each function's bundle to the SDK clients it actually calls: a
 * client package weighs 15–100 KiB minified and adds to every cold start.
 */
export interface AwsParts {
  readonly sql?: SqlParts;
  readonly secrets?: SecretsPart;
  readonly workflow?: WorkflowPart;
  readonly notifier?: NotifierPart;
  readonly signer?: SignerPart;
  readonly evidenceJobs?: EvidenceJobsPart;
}

/** Which parts a declaration's capabilities use (a literal `true` / mode in the declaration, not a widened one). */
interface PartsUsed<C extends Capabilities> {
  readonly sql: C extends { readonly database: true } ? true : false;
  readonly secrets: C extends { readonly keys: true }
    ? true
    : C extends { readonly signIn: "exchange" }
      ? true
      : false;
  readonly workflow: C extends { readonly workflow: "start" | "signal" } ? true : false;
  readonly notifier: C extends { readonly notify: true } ? true : false;
  readonly signer: C extends { readonly evidence: true }
    ? true
    : C extends { readonly log: "read" | "sequence" }
      ? true
      : false;
  readonly evidenceJobs: C extends { readonly evidenceJobs: "start" } ? true : false;
}

/**
 * Exactly the parts an entry point's capabilities use, no fewer (its composition would fail at cold start) and no more
 * (its bundle would carry SDK clients it never calls): an entry that passes anything else does not compile.
 */
export type PartsFor<C extends Capabilities> = {
  readonly [K in keyof PartsUsed<C> as PartsUsed<C>[K] extends true ? K : never]-?: NonNullable<AwsParts[K]>;
} & { readonly [K in keyof PartsUsed<C> as PartsUsed<C>[K] extends true ? never : K]?: never };
