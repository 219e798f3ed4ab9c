// The EHR database: Aurora Serverless v2 PostgreSQL with the Data API in isolated subnets, or an existing cluster.

import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { FlowLogDestination, FlowLogTrafficType, SubnetType, Vpc } from "aws-cdk-lib/aws-ec2";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import {
  AuroraPostgresEngineVersion,
  ClusterInstance,
  Credentials,
  DatabaseCluster,
  DatabaseClusterEngine,
  ParameterGroup,
} from "aws-cdk-lib/aws-rds";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { stackSuffix } from "#infra/cdk/stack-suffix.ts";
import { QUIET_LOG_SETTINGS } from "#shared/sql/quiet-log-settings.ts";

const SECRET_ROTATION_REASON =
  "Single-user rotation needs a rotation Lambda inside the isolated VPC plus a Secrets Manager endpoint; it " +
  "is planned for the next phase (docs/deploy.md). The Data API holds no long-lived connections to drain.";

/** How to get the database. */
export interface DatabaseProps {
  readonly dataKey: IKey;
  readonly databaseName: string;
  /** Flow-log destination for the created VPC. */
  readonly logBucket: IBucket;
  /** Encrypts the PostgreSQL log group the cluster exports to. */
  readonly logsKey: IKey;
  /** Aurora Serverless v2 capacity range (ACU); minimum 0 pauses after `autoPauseSeconds`. */
  readonly capacity: {
    readonly min: number;
    readonly max: number;
    readonly autoPauseSeconds?: number | undefined;
  };
  /** An existing cluster (Data API enabled) and the secret to sign in with; both or neither. */
  readonly existing?: {
    readonly clusterArn: string;
    readonly secretArn: string;
    readonly secretKeyArn?: string;
  };
}

/** What the functions need to reach the database through the Data API. */
export class Database extends Construct {
  readonly clusterArn: string;
  readonly secretArn: string;
  /** KMS keys the secret is encrypted with (the function needs Decrypt on them to let the Data API read it). */
  readonly secretKeyArns: readonly string[];
  readonly databaseName: string;
  /** The created cluster, when the stack owns one. */
  readonly cluster: DatabaseCluster | undefined;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    this.databaseName = props.databaseName;
    if (props.existing !== undefined) {
      this.clusterArn = props.existing.clusterArn;
      this.secretArn = props.existing.secretArn;
      this.secretKeyArns = props.existing.secretKeyArn === undefined ? [] : [props.existing.secretKeyArn];
      this.cluster = undefined;
      return;
    }
    const vpc = new Vpc(this, "Vpc", {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: "isolated", subnetType: SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      flowLogs: {
        all: {
          destination: FlowLogDestination.toS3(props.logBucket, "vpc-flow-logs/"),
          trafficType: FlowLogTrafficType.ALL,
        },
      },
    });
    const engine = DatabaseClusterEngine.auroraPostgres({ version: AuroraPostgresEngineVersion.VER_17_7 });
    // Named per deployment so the PostgreSQL log group can be declared (with retention and KMS) before the cluster
    // exports to it; otherwise RDS creates it on first export, unencrypted and kept forever.
    const clusterIdentifier = `phigate-ehr-${stackSuffix()}`;
    const postgresLogs = new LogGroup(this, "PostgresLogs", {
      logGroupName: `/aws/rds/cluster/${clusterIdentifier}/postgresql`,
      encryptionKey: props.logsKey,
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const cluster = new DatabaseCluster(this, "Cluster", {
      engine,
      clusterIdentifier,
      writer: ClusterInstance.serverlessV2("Writer", { autoMinorVersionUpgrade: true }),
      serverlessV2MinCapacity: props.capacity.min,
      serverlessV2MaxCapacity: props.capacity.max,
      ...(props.capacity.autoPauseSeconds === undefined
        ? {}
        : { serverlessV2AutoPauseDuration: Duration.seconds(props.capacity.autoPauseSeconds) }),
      // No error message (it can echo a value), statement text, parameter or slow-statement text reaches the
      // PostgreSQL log: the settings the local host applies per transaction, for every session of this cluster.
      parameterGroup: new ParameterGroup(this, "Parameters", {
        engine,
        description: "phigate: no values, statement text or parameters in the PostgreSQL log",
        parameters: Object.fromEntries(QUIET_LOG_SETTINGS),
      }),
      enableDataApi: true,
      defaultDatabaseName: props.databaseName,
      credentials: Credentials.fromGeneratedSecret("phigate_admin", { encryptionKey: props.dataKey }),
      storageEncrypted: true,
      storageEncryptionKey: props.dataKey,
      vpc,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_ISOLATED },
      iamAuthentication: true,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
      backup: { retention: Duration.days(14) },
      cloudwatchLogsExports: ["postgresql"],
      monitoringInterval: Duration.seconds(60),
    });
    cluster.node.addDependency(postgresLogs);
    const secret = cluster.secret;
    if (secret === undefined) throw new Error("the cluster has no generated secret");
    this.cluster = cluster;
    this.clusterArn = cluster.clusterArn;
    this.secretArn = secret.secretArn;
    this.secretKeyArns = [props.dataKey.keyArn];
    Validations.of(vpc).acknowledge({
      id: "HIPAA.Security-VPCDefaultSecurityGroupClosed",
      reason:
        "Nothing uses the default security group: the VPC has isolated subnets only (no internet or NAT route) " +
        "and holds just the cluster, which has its own group. Closing it takes a custom-resource Lambda.",
    });
    Validations.of(cluster).acknowledge(
      {
        id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]",
        reason:
          "Enhanced Monitoring's service role needs exactly AWS's RDS OS-metrics log permissions, which this " +
          "AWS-maintained policy holds and scopes to the RDSOSMetrics log group.",
      },
      {
        id: "HIPAA.Security-RDSInBackupPlan",
        reason:
          "AWS Backup protects Aurora per cluster: the cluster is in the stack's backup selection (plus 14-day " +
          "automated backups); the rule looks for the writer instance, which AWS Backup cannot select.",
      },
      {
        id: "AwsSolutions-SMG4",
        reason: SECRET_ROTATION_REASON,
      },
      {
        id: "HIPAA.Security-SecretsManagerRotationEnabled",
        reason: SECRET_ROTATION_REASON,
      },
    );
  }
}
