// One Lambda per function: local esbuild ESM bundle (+ WASM, policy and its parsed copy beside it), its own role, log group and environment.

import { join } from "node:path";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import { Effect, ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { Architecture, type CfnFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { type LambdaEnvironment, lambdaEnvironment } from "#infra/aws/config.ts";
import type { FunctionDefinition } from "#infra/aws/functions.ts";
import { parsedPolicyFile } from "#shared/policy/parsed-copy.ts";

/** The Lambda runtime: the newest Node LTS aws-cdk-lib offers (the code targets Node ≥ 20 and uses nothing newer). */
export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;

/** The bundle's ESM shims: CommonJS dependencies and the libpg-query loader expect `require` and `__dirname`. */
export const ESM_BANNER = [
  "import { createRequire as __phigateCreateRequire } from 'node:module';",
  "import { fileURLToPath as __phigateFileURLToPath } from 'node:url';",
  "import { dirname as __phigateDirname } from 'node:path';",
  "const require = __phigateCreateRequire(import.meta.url);",
  "const __filename = __phigateFileURLToPath(import.meta.url);",
  "const __dirname = __phigateDirname(__filename);",
].join(" ");

/**
 * The credential providers the SDK's default chain falls back to when the environment holds none (SSO, profiles, a
 * process, web identity, container and instance metadata), left out of every bundle: Lambda always puts the execution
 * role's credentials in the environment, and their ~105 KiB of source was compiled at every cold start. Without
 * environment credentials the chain's import of the next provider fails, and so does the start.
 */
export const UNBUNDLED_CREDENTIAL_PROVIDERS: readonly string[] = [
  "@aws-sdk/credential-provider-sso",
  "@aws-sdk/credential-provider-ini",
  "@aws-sdk/credential-provider-process",
  "@aws-sdk/credential-provider-web-identity",
  "@aws-sdk/credential-provider-http",
  "@smithy/credential-provider-imds",
];

/** The parser's WASM, copied next to bundles of routes that need it. */
export const PARSER_WASM = "node_modules/libpg-query/wasm/libpg-query.wasm";

/** Where the bundled policy lands beside the bundle (`PHIGATE_POLICY_FILE`). */
export const BUNDLED_POLICY_FILE = "policy.yaml";

/** What a function is built from. */
export interface GatewayFunctionProps {
  readonly definition: FunctionDefinition;
  /** Repository root (entries, lock file, node_modules). */
  readonly projectRoot: string;
  /** Absolute path of the policy file to bundle. */
  readonly policyPath: string;
  /** Absolute path of that policy's parsed copy, made at synth (`stageParsedPolicy`), bundled beside it. */
  readonly parsedPolicyPath: string;
  readonly environment: Omit<LambdaEnvironment, "PHIGATE_FUNCTION_ID" | "PHIGATE_POLICY_FILE">;
  readonly logsKey: IKey;
  readonly reservedConcurrency: number;
  /** Asynchronous invocations (schedules): retries Lambda makes after a failed run. */
  readonly asyncRetryAttempts?: number;
}

function shellQuote(path: string): string {
  return `'${path.replace(/'/g, "'\\''")}'`;
}

/**
 * A function (route, workflow task or scheduled job). It has its own role whose one customer-managed policy grants
 * logging on its own log group; the stack adds exactly the statements its capabilities call for to that policy.
 * X-Ray active tracing is set on the function resource directly (the `tracing` prop would add an inline policy);
 * the stack's grants put the two X-Ray actions into the managed policy instead.
 */
export class GatewayFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  /** The role's only policy (customer-managed, not inline). */
  readonly policy: ManagedPolicy;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: GatewayFunctionProps) {
    super(scope, id);
    const { definition } = props;
    this.logGroup = new LogGroup(this, "Logs", {
      encryptionKey: props.logsKey,
      retention: RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `phigate ${definition.id}: only what this function uses`,
    });
    this.policy = new ManagedPolicy(this, "Policy", {
      description: `phigate ${definition.id}: logging and the data-plane actions of its capabilities`,
      roles: [role],
      statements: [
        new PolicyStatement({
          sid: "OwnLogGroup",
          effect: Effect.ALLOW,
          actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
          resources: [this.logGroup.logGroupArn],
        }),
      ],
    });
    this.role = role;
    const copies = (outputDir: string): string[] => [
      `cp ${shellQuote(props.policyPath)} ${shellQuote(join(outputDir, BUNDLED_POLICY_FILE))}`,
      `cp ${shellQuote(props.parsedPolicyPath)} ${shellQuote(join(outputDir, parsedPolicyFile(BUNDLED_POLICY_FILE)))}`,
      ...(definition.needsParser
        ? [`cp ${shellQuote(join(props.projectRoot, PARSER_WASM))} ${shellQuote(`${outputDir}/`)}`]
        : []),
    ];
    this.function = new NodejsFunction(this, "Function", {
      entry: join(props.projectRoot, definition.entry),
      handler: "handler",
      runtime: FUNCTION_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: definition.memoryMb,
      timeout: Duration.seconds(definition.timeoutSeconds),
      reservedConcurrentExecutions: props.reservedConcurrency,
      role,
      logGroup: this.logGroup,
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, "package-lock.json"),
      description: definition.description,
      environment: lambdaEnvironment(
        {
          ...props.environment,
          PHIGATE_FUNCTION_ID: definition.id,
          PHIGATE_POLICY_FILE: BUNDLED_POLICY_FILE,
        },
        definition.capabilities,
      ),
      bundling: {
        format: OutputFormat.ESM,
        target: "node24",
        mainFields: ["module", "main"],
        minify: true,
        sourceMap: false,
        bundleAwsSDK: true,
        externalModules: [...UNBUNDLED_CREDENTIAL_PROVIDERS],
        banner: ESM_BANNER,
        forceDockerBundling: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir: string, outputDir: string) => copies(outputDir),
        },
      },
    });
    (this.function.node.defaultChild as CfnFunction).tracingConfig = { mode: "Active" };
    if (props.asyncRetryAttempts !== undefined) {
      this.function.configureAsyncInvoke({
        retryAttempts: props.asyncRetryAttempts,
        maxEventAge: Duration.hours(1),
      });
    }
    this.function.node.addDependency(this.policy);
  }
}
