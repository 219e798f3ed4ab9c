// The worlds' databases on each backend (PGlite data directories, or two databases of a PostgreSQL server) and their gateways.

import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { startTestGateway, type TestGateway } from "#test/support/gateway.ts";
import { type PostgresServer, startPostgresServer } from "#test/support/postgres-server.ts";
import { buildPgliteWorld, buildServerWorld, WORLD_DATABASE_SETTINGS } from "./world-database.ts";
import type { WorldPair } from "./worlds.ts";

/** World A's and world B's gateway. */
export interface GatewayPair {
  readonly a: TestGateway;
  readonly b: TestGateway;
  close(): Promise<void>;
}

/** A gateway per world, started on the backend with a given policy. */
export interface WorldBackend {
  readonly name: string;
  /** Starts world A's and world B's gateway with `policy` (YAML text), each on its own copy of its world. */
  start(policy: string): Promise<GatewayPair>;
  /** Stops every gateway still running and removes the worlds. */
  stop(): Promise<void>;
}

function pair(a: TestGateway, b: TestGateway, started: Set<TestGateway>): GatewayPair {
  return {
    a,
    b,
    async close() {
      for (const gateway of [a, b]) {
        started.delete(gateway);
        await gateway.close();
      }
    },
  };
}

function runDir(): string {
  return process.env.PHIGATE_TEST_TMP ?? tmpdir();
}

/** PGlite: each world's data directory is built once and copied for every gateway (a gateway owns its copy). */
export async function pgliteBackend(worlds: WorldPair): Promise<WorldBackend> {
  const root = await mkdtemp(join(runDir(), "phigate-ni-"));
  const templates = { a: join(root, "template-a"), b: join(root, "template-b") };
  await Promise.all([
    buildPgliteWorld(templates.a, worlds.a, worlds.schemaAdjustments),
    buildPgliteWorld(templates.b, worlds.b, worlds.schemaAdjustments),
  ]);
  const started = new Set<TestGateway>();
  const startOne = async (template: string, policy: string): Promise<TestGateway> => {
    const dataDir = await mkdtemp(join(root, "gateway-"));
    await cp(join(template, "pgdata"), join(dataDir, "pgdata"), { recursive: true });
    const gateway = await startTestGateway({ dataDir, policy });
    started.add(gateway);
    return gateway;
  };
  return {
    name: "embedded PGlite",
    async start(policy) {
      const [a, b] = await Promise.all([startOne(templates.a, policy), startOne(templates.b, policy)]);
      return pair(a, b, started);
    },
    async stop() {
      for (const gateway of started) await gateway.close().catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A PostgreSQL server (no parallel query, no JIT, UTC) with one database per world; gateways use DATABASE_URL. */
export async function serverBackend(worlds: WorldPair): Promise<WorldBackend> {
  const server: PostgresServer = await startPostgresServer({ settings: WORLD_DATABASE_SETTINGS });
  const started = new Set<TestGateway>();
  try {
    const urls = {
      a: await buildServerWorld(server.url, "world_a", worlds.a, worlds.schemaAdjustments),
      b: await buildServerWorld(server.url, "world_b", worlds.b, worlds.schemaAdjustments),
    };
    const startOne = async (databaseUrl: string, policy: string): Promise<TestGateway> => {
      const gateway = await startTestGateway({ databaseUrl, policy });
      started.add(gateway);
      return gateway;
    };
    return {
      name: "a PostgreSQL server (DATABASE_URL)",
      async start(policy) {
        const [a, b] = await Promise.all([startOne(urls.a, policy), startOne(urls.b, policy)]);
        return pair(a, b, started);
      },
      async stop() {
        for (const gateway of started) await gateway.close().catch(() => undefined);
        await server.stop();
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** The policy with rate limits high enough for thousands of requests a minute (the limits are tested elsewhere). */
export function withRunRateLimits(policy: string): string {
  const document = parse(policy);
  document.defaults = { ...document.defaults, requestsPerMinute: 1_000_000, burst: 100_000 };
  for (const principal of document.principals ?? []) {
    if (principal.limits !== undefined)
      principal.limits = { ...principal.limits, requestsPerMinute: 1_000_000, burst: 100_000 };
  }
  return stringify(document);
}

/** The policy with no masking at all (no rules, no detectors) and no approvals: what a leaking gateway answers. */
export function unmaskedPolicy(policy: string): string {
  const document = parse(policy);
  document.masking = { ...document.masking, rules: {}, detectors: { columns: [], kinds: ["ssn"] } };
  document.risk = { rules: [] };
  return stringify(document);
}

/**
 * The policy with the nightly job's grant narrowed to `columns` (the unprotected ones): every statement that reads a
 * protected column is denied, so no answer can depend on the worlds' difference — a run must find none.
 */
export function unprotectedColumnsPolicy(
  policy: string,
  principalId: string,
  columns: readonly string[],
): string {
  const document = parse(policy);
  const principal = (document.principals ?? []).find((p: { id?: string }) => p.id === principalId);
  if (principal === undefined) throw new Error(`the policy has no principal ${principalId}`);
  principal.grants = principal.grants.map((grant: Record<string, unknown>) => ({
    ...grant,
    columns: [...columns],
  }));
  return stringify(document);
}
