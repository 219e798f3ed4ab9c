// The two databases the risk and admission tests run on: the embedded PGlite, and a seeded PostgreSQL 15 server where one is installed (or required).

import pg from "pg";
import { startTestGateway, type TestGateway, type TestGatewayOptions } from "#test/support/gateway.ts";
import {
  type PostgresServer,
  postgresUnavailableReason,
  startPostgresServer,
} from "#test/support/postgres-server.ts";
import { seedEhr } from "#tools/ehr/seed.ts";

/** A backend a test suite runs against: `start` a gateway on it (with the given options), `stop` what it started. */
export interface EhrBackend {
  readonly name: string;
  start(options?: TestGatewayOptions): Promise<TestGateway>;
  stop(): Promise<void>;
}

/** PGlite always; a PostgreSQL server seeded with the demo EHR and analyzed when one is available or required. */
export function ehrBackends(): EhrBackend[] {
  const backends: EhrBackend[] = [
    { name: "embedded PGlite", start: (options = {}) => startTestGateway(options), stop: async () => {} },
  ];
  if (postgresUnavailableReason() === undefined || process.env.PHIGATE_REQUIRE_POSTGRES === "1") {
    let server: PostgresServer | undefined;
    backends.push({
      name: "a PostgreSQL server (DATABASE_URL)",
      async start(options = {}) {
        server = await startPostgresServer({ database: "ehr" });
        const client = new pg.Client({ connectionString: server.url });
        await client.connect();
        try {
          await seedEhr(client);
          await client.query("ANALYZE");
        } finally {
          await client.end();
        }
        return startTestGateway({ ...options, databaseUrl: server.url });
      },
      stop: async () => server?.stop(),
    });
  }
  return backends;
}
