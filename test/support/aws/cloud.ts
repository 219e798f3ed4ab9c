// A "deploy" of the synthesized template onto the loopback stand-ins: every service, the functions' environments and
// roles, the rendered state machine, the HTTP API and the schedules, all on 127.0.0.1, started and stopped by tests.

import { createSocket, type Socket } from "node:dgram";
import type { AddressInfo } from "node:net";
import { HttpApiEdge } from "./api-gateway.ts";
import { type CustomResourceOutcome, createCustomResources } from "./custom-resources.ts";
import { type DataApiLimits, DataApiStandIn } from "./data-api.ts";
import { DynamoDbStandIn } from "./dynamodb.ts";
import { LoopbackEndpoint } from "./endpoint.ts";
import { OfflineIam } from "./iam.ts";
import { KmsStandIn } from "./kms.ts";
import { type HostedFunction, LambdaHost } from "./lambda-host.ts";
import { S3StandIn } from "./s3.ts";
import { SecretsManagerStandIn } from "./secrets-manager.ts";
import { SnsStandIn } from "./sns.ts";
import { StepFunctionsStandIn } from "./step-functions.ts";
import { type StreamMappingStats, startStreamMappings } from "./stream-mappings.ts";
import { type DeployTarget, ResolvedStack } from "./template.ts";
import type { LoopbackCertificate } from "./tls.ts";

/** What a deploy needs. */
export interface CloudOptions {
  /** The synthesized template (`Template.toJSON()`). */
  readonly template: Record<string, unknown>;
  readonly target: DeployTarget;
  readonly tls: LoopbackCertificate;
  /** Bundle directories by function id (`bundleFunctions`). */
  readonly bundles: ReadonlyMap<string, string>;
  /** The PostgreSQL server behind the Data API (trusts 127.0.0.1). */
  readonly postgres: { readonly host: string; readonly port: number; readonly adminUrl: string };
  readonly dataApiLimits?: DataApiLimits;
  /** Environment changes per function id (a test shortening a function's wait; said where used). */
  readonly environment?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** The running stand-ins and what they recorded. */
export interface LoopbackCloud {
  readonly stack: ResolvedStack;
  readonly iam: OfflineIam;
  readonly endpoint: LoopbackEndpoint;
  readonly dynamo: DynamoDbStandIn;
  readonly s3: S3StandIn;
  readonly dataApi: DataApiStandIn;
  readonly secrets: SecretsManagerStandIn;
  readonly kms: KmsStandIn;
  readonly sns: SnsStandIn;
  readonly sfn: StepFunctionsStandIn;
  readonly lambda: LambdaHost;
  readonly api: HttpApiEdge;
  /** The state machine's ARN (from the template). */
  readonly stateMachineArn: string;
  /** X-Ray segment datagrams the functions sent (to the daemon address Lambda sets). */
  readonly xraySegments: () => number;
  /** What each custom resource answered at deploy (a FAILED one would have failed the deploy). */
  readonly customResources: readonly CustomResourceOutcome[];
  /** Functions an event source may invoke by its template permission (`apigateway`, `events`). */
  readonly invokePermissions: ReadonlyMap<string, ReadonlySet<string>>;
  /** The stream event source mappings' counts (invocations, failed batches, longest commit-to-sequenced wait). */
  readonly streams: StreamMappingStats;
  close(): Promise<void>;
}

/** Environment variables every SDK client reads to reach the stand-ins (`AWS_ENDPOINT_URL_<SERVICE_ID>`). */
export function endpointEnvironment(url: string): Record<string, string> {
  return Object.fromEntries(
    ["DYNAMODB", "S3", "RDS_DATA", "SFN", "SNS", "KMS", "SECRETS_MANAGER"].map((id) => [
      `AWS_ENDPOINT_URL_${id}`,
      url,
    ]),
  );
}

/** Deploys the template onto the stand-ins. */
export async function startLoopbackCloud(options: CloudOptions): Promise<LoopbackCloud> {
  const stack = new ResolvedStack(options.template as never, options.target);
  const iam = new OfflineIam(stack);
  const { region, account } = options.target;
  const secrets = new SecretsManagerStandIn(stack);
  const dynamo = new DynamoDbStandIn(stack);
  const s3 = new S3StandIn(stack);
  const kms = new KmsStandIn(stack);
  const sns = new SnsStandIn(stack);
  const dataApi = new DataApiStandIn(stack, options.postgres, secrets, options.dataApiLimits);
  await dataApi.start(options.postgres.adminUrl);

  const xray: Socket = createSocket("udp4");
  let segments = 0;
  xray.on("message", () => {
    segments++;
  });
  await new Promise<void>((resolve) => xray.bind(0, "127.0.0.1", resolve));
  const xrayAddress = `127.0.0.1:${(xray.address() as AddressInfo).port}`;

  const functions: HostedFunction[] = stack.ofType("AWS::Lambda::Function").map((resource) => {
    const p = resource.properties as {
      Environment?: { Variables?: Record<string, string> };
      Role: string;
      Timeout?: number;
      MemorySize?: number;
      ReservedConcurrentExecutions?: number;
    };
    const id = p.Environment?.Variables?.PHIGATE_FUNCTION_ID ?? resource.logicalId;
    const environment = { ...p.Environment?.Variables, ...options.environment?.[id] };
    const dir = options.bundles.get(id);
    if (dir === undefined) throw new Error(`no bundle for ${id}`);
    return {
      id,
      arn: stack.getAtt(resource.logicalId, "Arn"),
      name: stack.ref(resource.logicalId),
      dir,
      environment,
      timeoutSeconds: p.Timeout ?? 3,
      memoryMb: p.MemorySize ?? 128,
      reservedConcurrency: p.ReservedConcurrentExecutions ?? 10,
      role: p.Role,
    } as HostedFunction & { role: string };
  });

  let endpoint: LoopbackEndpoint | undefined;
  const lambda = new LambdaHost(functions, (fn) => {
    const credentials = (endpoint as LoopbackEndpoint).issue(
      fn.id,
      (fn as HostedFunction & { role: string }).role,
    );
    return {
      ...endpointEnvironment((endpoint as LoopbackEndpoint).url),
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      TZ: ":UTC",
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_SESSION_TOKEN: credentials.sessionToken,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `2026/01/01/[$LATEST]${fn.id}`,
      AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
      AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
      AWS_XRAY_DAEMON_ADDRESS: xrayAddress,
      AWS_XRAY_CONTEXT_MISSING: "LOG_ERROR",
      NODE_EXTRA_CA_CERTS: options.tls.caFile,
    };
  });
  const sfn = new StepFunctionsStandIn(region, account, lambda, iam);
  endpoint = await LoopbackEndpoint.start({
    key: options.tls.key,
    cert: options.tls.cert,
    services: [dynamo, s3, dataApi, secrets, kms, sns, sfn],
    iam,
  });

  const machines = stack
    .ofType("AWS::StepFunctions::StateMachine")
    .map((machine) =>
      sfn.createStateMachine(
        stack.getAtt(machine.logicalId, "Name"),
        String(machine.properties.DefinitionString),
        String(machine.properties.RoleArn),
      ),
    );
  const stateMachineArn = machines.find((arn) => arn.includes("-approval-"));
  if (stateMachineArn === undefined) throw new Error("the template has no approval state machine");

  const customResources = await createCustomResources(stack, lambda, options.tls);

  const invokePermissions = new Map<string, Set<string>>();
  for (const permission of stack.ofType("AWS::Lambda::Permission")) {
    const principal = String(permission.properties.Principal).replace(".amazonaws.com", "");
    const set = invokePermissions.get(principal) ?? new Set<string>();
    set.add(String(permission.properties.FunctionName));
    invokePermissions.set(principal, set);
  }
  const apiResource = stack.ofType("AWS::ApiGatewayV2::Api")[0];
  const api = new HttpApiEdge(
    stack,
    lambda,
    options.tls.cert,
    apiResource === undefined ? "api" : stack.ref(apiResource.logicalId),
  );

  const mappings = startStreamMappings(stack, dynamo, lambda);

  return {
    stack,
    iam,
    endpoint,
    dynamo,
    s3,
    dataApi,
    secrets,
    kms,
    sns,
    sfn,
    lambda,
    api,
    stateMachineArn,
    customResources,
    xraySegments: () => segments,
    invokePermissions,
    streams: mappings.stats,
    async close() {
      await mappings.stop();
      await lambda.close();
      await dataApi.close();
      await endpoint?.close();
      await new Promise<void>((resolve) => xray.close(() => resolve()));
    },
  };
}
