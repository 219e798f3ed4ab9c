// The phigate stack: keys, storage, database, one function per route, the HTTP API, and the nag acknowledgments.

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { CfnOutput, Stack, type StackProps, Validations } from "aws-cdk-lib";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { Construct } from "constructs";
import { Backups } from "#infra/constructs/backups.ts";
import { Database } from "#infra/constructs/database.ts";
import { GatewayApi } from "#infra/constructs/gateway-api.ts";
import { GatewayFunction } from "#infra/constructs/gateway-function.ts";
import { Keys } from "#infra/constructs/keys.ts";
import { Storage } from "#infra/constructs/storage.ts";
import { grantCapabilities } from "#infra/grants.ts";
import { jwksUriOf, type Settings } from "#infra/settings.ts";
import { capabilitiesOf } from "#shared/adapters/aws/capabilities.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { ROUTES } from "#shared/http/routes.ts";
import type { TrustedIssuer } from "#shared/identity/issuers.ts";
import { parsePolicy } from "#shared/policy/load.ts";

/** Stack inputs. */
export interface PhigateStackProps extends StackProps {
  readonly settings: Settings;
  /** Repository root (function entries, node_modules, the policy file). */
  readonly projectRoot: string;
}

/** Reasons for the stack-wide acknowledgments (each rule, why it does not apply here). */
const FUNCTION_ACKNOWLEDGMENTS = [
  {
    id: "HIPAA.Security-LambdaDLQ",
    reason:
      "The functions are invoked synchronously by API Gateway only; the caller receives every failure, and " +
      "Lambda never retries a synchronous invocation, so a dead-letter queue would never receive anything.",
  },
  {
    id: "HIPAA.Security-LambdaInsideVPC",
    reason:
      "The functions call only AWS APIs over TLS with IAM (DynamoDB, S3, KMS, Secrets Manager, the RDS Data " +
      "API); the database is reachable solely through the Data API, so a VPC would add endpoints, not isolation.",
  },
];

/** The AWS host of phigate. */
export class PhigateStack extends Stack {
  readonly functions: ReadonlyMap<string, GatewayFunction>;
  readonly api: GatewayApi;
  readonly storage: Storage;
  readonly database: Database;
  readonly keys: Keys;

  constructor(scope: Construct, id: string, props: PhigateStackProps) {
    super(scope, id, props);
    const { settings, projectRoot } = props;
    const policyPath = resolve(projectRoot, settings.policyFile);
    const policyText = readFileSync(policyPath, "utf8");
    parsePolicy(policyText, settings.policyFile);

    this.keys = new Keys(this, "Keys");
    this.storage = new Storage(this, "Storage", {
      dataKey: this.keys.data,
      resultRetentionDays: settings.resultRetentionDays,
      evidenceRetentionDays: settings.evidenceRetentionDays,
    });
    this.database = new Database(this, "Database", {
      dataKey: this.keys.data,
      databaseName: settings.databaseName,
      logBucket: this.storage.accessLogs,
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

    new Backups(this, "Backups", {
      dataKey: this.keys.data,
      tables: [this.storage.sessions, this.storage.approvals],
      cluster: this.database.cluster,
    });

    const issuers: TrustedIssuer[] = [
      {
        issuer: settings.issuer,
        jwksUri: jwksUriOf(settings),
        audience: [settings.audience],
        groupsClaim: settings.groupsClaim,
      },
    ];
    const functions = new Map<string, GatewayFunction>();
    for (const route of ROUTES) {
      const capabilities = capabilitiesOf(route.id);
      const fn = new GatewayFunction(this, `Route-${route.id}`, {
        route,
        projectRoot,
        policyPath,
        logsKey: this.keys.logs,
        reservedConcurrency: settings.reservedConcurrency,
        environment: {
          PHIGATE_SESSIONS_TABLE: this.storage.sessions.tableName,
          PHIGATE_RESULTS_BUCKET: this.storage.results.bucketName,
          PHIGATE_DATA_KEY_ARN: this.keys.data.keyArn,
          PHIGATE_ISSUERS: JSON.stringify(issuers),
          PHIGATE_POLICY_DIGEST: sha256Hex(policyText),
          ...(capabilities.database
            ? {
                PHIGATE_DB_CLUSTER_ARN: this.database.clusterArn,
                PHIGATE_DB_SECRET_ARN: this.database.secretArn,
                PHIGATE_DB_NAME: this.database.databaseName,
              }
            : {}),
          ...(capabilities.keys ? { PHIGATE_KEYS_SECRET_ARN: this.storage.keyMaterial.secretArn } : {}),
        },
      });
      grantCapabilities(fn, fn.policy, capabilities, {
        sessions: this.storage.sessions,
        results: this.storage.results,
        dataKey: this.keys.data,
        keyMaterial: this.storage.keyMaterial,
        database: this.database,
      });
      Validations.of(fn).acknowledge(...FUNCTION_ACKNOWLEDGMENTS);
      functions.set(route.id, fn);
    }
    this.functions = functions;

    this.api = new GatewayApi(this, "Api", {
      routes: ROUTES,
      functions: new Map<string, IFunction>([...functions].map(([routeId, fn]) => [routeId, fn.function])),
      issuer: settings.issuer,
      audience: settings.audience,
      logsKey: this.keys.logs,
      rateLimit: settings.throttleRateLimit,
      burstLimit: settings.throttleBurstLimit,
    });

    new CfnOutput(this, "ApiUrl", { value: this.api.api.apiEndpoint });
    new CfnOutput(this, "SessionsTable", { value: this.storage.sessions.tableName });
    new CfnOutput(this, "ApprovalsTable", { value: this.storage.approvals.tableName });
    new CfnOutput(this, "ResultsBucket", { value: this.storage.results.bucketName });
    new CfnOutput(this, "EvidenceBucket", { value: this.storage.evidence.bucketName });
    new CfnOutput(this, "EvidenceSigningKey", { value: this.keys.signing.keyArn });
    new CfnOutput(this, "DatabaseClusterArn", { value: this.database.clusterArn });
  }
}
