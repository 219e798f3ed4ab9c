// AWS Backup: the tables and the database cluster in one plan (daily, monthly, kept a year), in a KMS-encrypted vault.

import { RemovalPolicy, Validations } from "aws-cdk-lib";
import { BackupPlan, BackupResource, BackupVault } from "aws-cdk-lib/aws-backup";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { DatabaseCluster } from "aws-cdk-lib/aws-rds";
import { Construct } from "constructs";

/** What is backed up. */
export interface BackupsProps {
  readonly dataKey: IKey;
  readonly tables: readonly ITable[];
  /** The stack's own cluster, if it created one (an existing cluster is backed up by its owner). */
  readonly cluster: DatabaseCluster | undefined;
}

/** The backup plan and its vault. */
export class Backups extends Construct {
  readonly plan: BackupPlan;

  constructor(scope: Construct, id: string, props: BackupsProps) {
    super(scope, id);
    const vault = new BackupVault(this, "Vault", {
      encryptionKey: props.dataKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.plan = BackupPlan.dailyMonthly1YearRetention(this, "Plan", vault);
    const resources = props.tables.map((t) => BackupResource.fromDynamoDbTable(t));
    if (props.cluster !== undefined) resources.push(BackupResource.fromRdsDatabaseCluster(props.cluster));
    const selection = this.plan.addSelection("Selection", { resources });
    Validations.of(selection).acknowledge({
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
      reason:
        "AWS Backup's own service-role policy, maintained by AWS for the backup service principal; writing it " +
        "by hand would only lag behind the services AWS Backup supports.",
    });
  }
}
