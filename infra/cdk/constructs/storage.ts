// Durable state: the sessions and approvals tables, the results and evidence buckets (Object Lock), their log bucket.

import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
} from "aws-cdk-lib/aws-dynamodb";
import type { IKey } from "aws-cdk-lib/aws-kms";
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  ObjectLockRetention,
  ObjectOwnership,
} from "aws-cdk-lib/aws-s3";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { OPEN_INDEX } from "#infra/aws/adapters/approval-item.ts";
import { RUNNING_INDEX } from "#infra/aws/adapters/dynamo-session-store.ts";
import { KEY_MATERIAL_FIELD } from "#infra/aws/adapters/secrets-key-provider.ts";

/** What the storage needs from the rest of the stack. */
export interface StorageProps {
  readonly dataKey: IKey;
  readonly resultRetentionDays: number;
  /** Object Lock mode of results (evidence is always compliance). */
  readonly resultLockMode: "governance" | "compliance";
  readonly evidenceRetentionDays: number;
}

const REPLICATION_REASON =
  "Single-region deployment in phase 1: Object Lock (compliance) and versioning protect objects in place; " +
  "cross-region replication needs a destination bucket and key in a second region, chosen at deployment.";

function table(
  scope: Construct,
  id: string,
  dataKey: IKey,
  ttl: string | undefined,
  stream?: StreamViewType,
): Table {
  return new Table(scope, id, {
    partitionKey: { name: "pk", type: AttributeType.STRING },
    sortKey: { name: "sk", type: AttributeType.NUMBER },
    billingMode: BillingMode.PAY_PER_REQUEST,
    encryption: TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: dataKey,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
    ...(ttl === undefined ? {} : { timeToLiveAttribute: ttl }),
    ...(stream === undefined ? {} : { stream }),
  });
}

/** Tables, buckets and the key-material secret. */
export class Storage extends Construct {
  /** Session items, entries, the chain's index and head, idempotency items (TTL on `expiresAt`); streamed. */
  readonly sessions: Table;
  /**
   * Approval requests with their workflow task tokens (`approval#<id>`), TTL on `purgeAt` (set when an approval is
   * closed), and a sparse index of the open ones (`openPk`, removed on close) for the keeper.
   */
  readonly approvals: Table;
  /** Server access logs of the locked buckets (a locked bucket cannot be a log target). */
  readonly accessLogs: Bucket;
  readonly results: Bucket;
  readonly evidence: Bucket;
  /** One generated secret from which the functions derive their purpose keys (`secrets-key-provider.ts`). */
  readonly keyMaterial: Secret;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    // The stream (new images) feeds the log sequencer the entries the request path writes.
    this.sessions = table(this, "Sessions", props.dataKey, "expiresAt", StreamViewType.NEW_IMAGE);
    this.sessions.addGlobalSecondaryIndex({
      indexName: RUNNING_INDEX,
      partitionKey: { name: "runningPk", type: AttributeType.STRING },
      sortKey: { name: "runningAt", type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
    this.approvals = table(this, "Approvals", props.dataKey, "purgeAt");
    this.approvals.addGlobalSecondaryIndex({
      indexName: OPEN_INDEX,
      partitionKey: { name: "openPk", type: AttributeType.STRING },
      sortKey: { name: "createdAt", type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });

    this.accessLogs = new Bucket(this, "AccessLogs", {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ expiration: Duration.days(2_190), noncurrentVersionExpiration: Duration.days(30) }],
    });
    Validations.of(this.accessLogs).acknowledge(
      {
        id: "HIPAA.Security-S3DefaultEncryptionKMS",
        reason: "S3 server access logging delivers only to buckets encrypted with SSE-S3, not SSE-KMS.",
      },
      { id: "HIPAA.Security-S3BucketReplicationEnabled", reason: REPLICATION_REASON },
    );

    this.results = this.lockedBucket(
      "Results",
      props.dataKey,
      props.resultRetentionDays,
      props.resultLockMode,
      true,
    );
    this.evidence = this.lockedBucket(
      "Evidence",
      props.dataKey,
      props.evidenceRetentionDays,
      "compliance",
      false,
    );

    this.keyMaterial = new Secret(this, "KeyMaterial", {
      description: "phigate: key material for keyed digests and tokenization (derived per purpose with HKDF)",
      encryptionKey: props.dataKey,
      removalPolicy: RemovalPolicy.RETAIN,
      generateSecretString: {
        secretStringTemplate: "{}",
        generateStringKey: KEY_MATERIAL_FIELD,
        passwordLength: 64,
        excludePunctuation: true,
      },
    });
    const noRotation =
      "Rotating this material would change every keyed parameter digest and token, breaking the comparison of " +
      "recorded sessions; it is rotated deliberately with a versioned derivation, not on a schedule.";
    Validations.of(this.keyMaterial).acknowledge(
      { id: "AwsSolutions-SMG4", reason: noRotation },
      { id: "HIPAA.Security-SecretsManagerRotationEnabled", reason: noRotation },
    );
  }

  /**
   * A versioned Object Lock bucket. With `expire`, objects get a delete marker a day after their retention ends and the
   * version behind it is removed a day later (expiration alone only adds markers: every version would stay forever),
   * then the lone marker is cleaned up.
   */
  private lockedBucket(
    id: string,
    dataKey: IKey,
    retentionDays: number,
    mode: "governance" | "compliance",
    expire: boolean,
  ): Bucket {
    const bucket = new Bucket(this, id, {
      encryption: BucketEncryption.KMS,
      encryptionKey: dataKey,
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention:
        mode === "compliance"
          ? ObjectLockRetention.compliance(Duration.days(retentionDays))
          : ObjectLockRetention.governance(Duration.days(retentionDays)),
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: `${id.toLowerCase()}/`,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          abortIncompleteMultipartUploadAfter: Duration.days(1),
          ...(expire
            ? { expiration: Duration.days(retentionDays + 1), noncurrentVersionExpiration: Duration.days(1) }
            : {}),
        },
        ...(expire ? [{ id: "RemoveExpiredDeleteMarkers", expiredObjectDeleteMarker: true }] : []),
      ],
    });
    Validations.of(bucket).acknowledge({
      id: "HIPAA.Security-S3BucketReplicationEnabled",
      reason: REPLICATION_REASON,
    });
    return bucket;
  }
}
