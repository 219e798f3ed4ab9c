// KMS keys: the data key (tables, buckets, secrets), the logs key (CloudWatch Logs) and the evidence signing key.

import { Arn, ArnFormat, RemovalPolicy, Stack } from "aws-cdk-lib";
import {
  AccountRootPrincipal,
  ArnPrincipal,
  type IRole,
  PolicyDocument,
  PolicyStatement,
  ServicePrincipal,
} from "aws-cdk-lib/aws-iam";
import { Key, KeySpec, KeyUsage } from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";

/** What the account may do with the signing key: administer it and read its public key, never sign. */
export const SIGNING_KEY_ADMIN_ACTIONS = [
  "kms:CancelKeyDeletion",
  "kms:Create*",
  "kms:Delete*",
  "kms:Describe*",
  "kms:Disable*",
  "kms:Enable*",
  "kms:Get*",
  "kms:List*",
  "kms:Put*",
  "kms:Revoke*",
  "kms:ScheduleKeyDeletion",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:Update*",
];

/** The stack's customer-managed keys. */
export class Keys extends Construct {
  /** Symmetric key for DynamoDB, S3 (SSE-KMS), Secrets Manager and the database storage; rotated yearly. */
  readonly data: Key;
  /** Symmetric key for CloudWatch log groups (its policy admits the Logs service for this account only). */
  readonly logs: Key;
  /** Asymmetric P-256 key that signs evidence manifests (used by the evidence phase). */
  readonly signing: Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.data = new Key(this, "Data", {
      description: "phigate: data at rest (sessions, results, evidence, secrets, database)",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.logs = new Key(this, "Logs", {
      description: "phigate: CloudWatch log groups",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const stack = Stack.of(this);
    this.logs.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: [
          "kms:Encrypt",
          "kms:Decrypt",
          "kms:ReEncryptFrom",
          "kms:ReEncryptTo",
          "kms:GenerateDataKey",
          "kms:DescribeKey",
        ],
        resources: ["*"],
        conditions: {
          ArnLike: {
            "kms:EncryptionContext:aws:logs:arn": Arn.format(
              {
                service: "logs",
                resource: "log-group",
                resourceName: "*",
                arnFormat: ArnFormat.COLON_RESOURCE_NAME,
              },
              stack,
            ),
          },
        },
      }),
    );
    // Not the default policy (root: kms:*, which lets any principal of the account with kms:Sign in an identity
    // policy sign evidence): the account administers the key; only `allowSigning`'s roles may sign with it.
    this.signing = new Key(this, "EvidenceSigning", {
      description: "phigate: signs evidence manifests (ECDSA P-256, SHA-256 digests)",
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
      removalPolicy: RemovalPolicy.RETAIN,
      policy: new PolicyDocument({
        statements: [
          new PolicyStatement({
            sid: "KeyAdministration",
            principals: [new AccountRootPrincipal()],
            actions: SIGNING_KEY_ADMIN_ACTIONS,
            resources: ["*"],
          }),
        ],
      }),
    });
  }

  /** Lets exactly these roles sign with the evidence key (the key policy names them; nobody else in the account). */
  allowSigning(roles: readonly IRole[]): void {
    this.signing.addToResourcePolicy(
      new PolicyStatement({
        sid: "SignEvidenceManifests",
        principals: roles.map((role) => new ArnPrincipal(role.roleArn)),
        actions: ["kms:Sign"],
        resources: ["*"],
      }),
    );
  }
}
