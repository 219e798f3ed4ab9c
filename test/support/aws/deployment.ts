// The end-to-end deployment: the stack synthesized for loopback issuers, the functions bundled, PostgreSQL seeded as
// the cluster's database, the stand-ins started with the template, and the approvers' client secret stored.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { loadFunctions } from "#infra/aws/functions.ts";
import { EDGE_AUTHORIZER_ENTRY, EDGE_AUTHORIZER_FUNCTION_ID } from "#infra/cdk/constructs/edge-authorizer.ts";
import { READER_ROLE_ENTRY, READER_ROLE_FUNCTION_ID } from "#infra/cdk/constructs/reader-role.ts";
import { PROJECT_ROOT } from "#infra/cdk/phigate-app.ts";
import { type PostgresServer, startPostgresServer } from "#test/support/postgres-server.ts";
import { StackUnderTest } from "#test/support/stack.ts";
import { seedEhr } from "#tools/ehr/seed.ts";
import { type BundledFunction, bundleFunctions } from "./bundles.ts";
import { type LoopbackCloud, startLoopbackCloud } from "./cloud.ts";
import type { DataApiLimits } from "./data-api.ts";
import { LoopbackOidc } from "./oidc-provider.ts";
import { type LoopbackCertificate, loopbackCertificate } from "./tls.ts";

/** The custom resource's function (not a gateway function: it runs at deploy). */
const READER_ROLE_FUNCTION: BundledFunction = {
  id: READER_ROLE_FUNCTION_ID,
  entry: READER_ROLE_ENTRY,
  needsParser: false,
};

/** Where approval links point (the stack's `publicUrl`). */
export const PUBLIC_URL = "https://phigate.example.org";
export const AUDIENCE = "phigate";
export const APPROVER_SECRET_ARN =
  "arn:aws:secretsmanager:eu-west-1:123456789012:secret:phigate/approver-client-AbCdEf";

/** Everything the story runs against. */
export interface Deployment {
  readonly cloud: LoopbackCloud;
  readonly oidc: LoopbackOidc;
  readonly tls: LoopbackCertificate;
  readonly postgres: PostgresServer;
  readonly dir: string;
  /** Seconds each phase of the setup took (printed by the run). */
  readonly timings: Readonly<Record<string, number>>;
  close(): Promise<void>;
}

/** Options: the policy text (given the two issuers) and extra CDK context. */
export interface DeploymentOptions {
  readonly policy: (issuers: { ci: string; approver: string }) => string | Promise<string>;
  readonly context?: Readonly<Record<string, unknown>>;
  readonly dataApiLimits?: DataApiLimits;
  readonly patients?: number;
  /** Environment changes per function id (see `CloudOptions.environment`). */
  readonly environment?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Changes to the seeded database (as the master user) before the stand-ins start. */
  readonly prepare?: (client: pg.Client) => Promise<void>;
}

async function timed<T>(
  timings: Record<string, number>,
  name: string,
  work: () => Promise<T> | T,
): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    timings[name] = Math.round(performance.now() - started) / 1000;
  }
}

/** Synthesizes, bundles, seeds and deploys onto the stand-ins. */
export async function deploy(options: DeploymentOptions): Promise<Deployment> {
  const timings: Record<string, number> = {};
  const dir = await mkdtemp(join(process.env.PHIGATE_TEST_TMP ?? tmpdir(), "phigate-aws-e2e-"));
  const tls = loopbackCertificate();
  const oidc = await LoopbackOidc.start(tls);
  const policyPath = join(dir, "policy.yaml");
  await writeFile(policyPath, await options.policy({ ci: oidc.ciIssuer, approver: oidc.approverIssuer }));
  const synth = new StackUnderTest({
    nag: false,
    context: {
      "aws:cdk:bundling-stacks": [],
      issuer: oidc.ciIssuer,
      jwksUri: `${oidc.ciIssuer}/.well-known/jwks`,
      audience: AUDIENCE,
      policyFile: policyPath,
      publicUrl: PUBLIC_URL,
      approverEmails: "alice@example.org",
      approverIssuer: oidc.approverIssuer,
      approverClientId: oidc.clientId,
      approverAuthorizationEndpoint: `${oidc.approverIssuer}/authorize`,
      approverTokenEndpoint: `${oidc.approverIssuer}/token`,
      approverClientSecretArn: APPROVER_SECRET_ARN,
      ...options.context,
    },
  });
  await timed(timings, "synth", () => synth.synthesize());
  const template = synth.template.toJSON() as Record<string, unknown>;
  synth.remove();
  const functions = await loadFunctions();
  const bundles = await timed(timings, "bundle", () =>
    bundleFunctions(
      [
        ...functions,
        READER_ROLE_FUNCTION,
        // The stack has the edge authorizer only with `allowedClaims`.
        ...(options.context?.allowedClaims === undefined
          ? []
          : [{ id: EDGE_AUTHORIZER_FUNCTION_ID, entry: EDGE_AUTHORIZER_ENTRY, needsParser: false }]),
      ],
      PROJECT_ROOT,
      policyPath,
      join(dir, "bundles"),
    ),
  );
  const postgres = await timed(timings, "postgres", async () => {
    const server = await startPostgresServer({ database: "postgres" });
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      // What RDS creates: the master user (from the generated secret's username) and the cluster's database.
      await admin.query("CREATE ROLE phigate_admin LOGIN SUPERUSER");
      await admin.query("CREATE DATABASE ehr OWNER phigate_admin");
    } finally {
      await admin.end();
    }
    const ehr = new pg.Client({
      host: server.host,
      port: server.port,
      user: "phigate_admin",
      database: "ehr",
    });
    await ehr.connect();
    try {
      await seedEhr(ehr, { patients: options.patients ?? 2_000 });
      await options.prepare?.(ehr);
    } finally {
      await ehr.end();
    }
    return server;
  });
  const cloud = await timed(timings, "deploy", () =>
    startLoopbackCloud({
      template,
      target: { stackName: "Phigate", region: "eu-west-1", account: "123456789012" },
      tls,
      bundles,
      postgres: { host: postgres.host, port: postgres.port, adminUrl: postgres.url },
      ...(options.dataApiLimits === undefined ? {} : { dataApiLimits: options.dataApiLimits }),
      ...(options.environment === undefined ? {} : { environment: options.environment }),
    }),
  );
  cloud.secrets.put(APPROVER_SECRET_ARN, JSON.stringify({ clientSecret: oidc.clientSecret }));
  return {
    cloud,
    oidc,
    tls,
    postgres,
    dir,
    timings,
    async close() {
      await cloud.close();
      await oidc.close();
      await postgres.stop();
      tls.remove();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
