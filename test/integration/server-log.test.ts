// On a PostgreSQL server, a gateway statement's failure does not write the value it failed on to the server's log (where the role may keep it out), and a role that cannot is reported.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PgExecutor } from "#infra/local/adapters/pg-executor.ts";
import { createJsonLogger } from "#shared/log.ts";
import {
  describeWithPostgres,
  type PostgresServer,
  startPostgresServer,
} from "#test/support/postgres-server.ts";

/** An SSN-shaped value (synthetic) a failed cast would quote in its error message. */
const VALUE = "389-52-0495";

describeWithPostgres("the PostgreSQL server log", () => {
  let server: PostgresServer;
  let admin: pg.Client;
  const serverLog = (): string => readFileSync(join(dirname(server.dataDir), "server.log"), "utf8");

  beforeAll(async () => {
    server = await startPostgresServer();
    admin = new pg.Client(server.url);
    await admin.connect();
    await admin.query("CREATE ROLE phigate_ro LOGIN");
    await admin.query(
      `CREATE TABLE people (id integer, ssn text); INSERT INTO people VALUES (1, '${VALUE}')`,
    );
    await admin.query("GRANT SELECT ON people TO phigate_ro");
  });
  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });

  async function failCast(url: string): Promise<string[]> {
    const lines: string[] = [];
    const logger = createJsonLogger({
      service: "server-log-test",
      level: "warn",
      write: (l) => lines.push(l),
    });
    const executor = new PgExecutor({ connectionString: url, logger, poolSize: 1 });
    try {
      for (const sql of [`SELECT '${VALUE}'::int`, "SELECT ssn::int FROM people WHERE id = 1"]) {
        await expect(
          executor.execute(
            { sql, params: [], timeoutMs: 5_000, maxRows: 10, pageSize: 10 },
            { columns: () => undefined, rows: () => undefined },
          ),
        ).rejects.toThrow();
      }
    } finally {
      await executor.close();
    }
    return lines;
  }

  const roleUrl = (): string => server.url.replace("postgres@", "phigate_ro@");

  it("keeps the value out of the server log when the gateway's role may set the log settings", async () => {
    const warnings = await failCast(server.url);
    expect(warnings.join("\n")).not.toMatch(/cannot keep values out/);
    expect(serverLog()).not.toContain(VALUE);
  });

  it("names the settings a role without the privilege cannot set, and is quiet once the operator grants them", async () => {
    const before = serverLog().length;
    const warnings = await failCast(roleUrl());
    expect(warnings.join("\n")).toMatch(
      /cannot keep values out of the PostgreSQL server log.*log_min_messages/,
    );
    // Without the operator's part the server logs the value: the check above is what tells the operator.
    expect(serverLog().slice(before)).toContain(VALUE);

    await admin.query(
      "GRANT SET ON PARAMETER log_min_messages, log_min_error_statement, log_error_verbosity, log_statement, log_min_duration_statement, log_parameter_max_length TO phigate_ro",
    );
    const after = serverLog().length;
    const granted = await failCast(roleUrl());
    expect(granted.join("\n")).not.toMatch(/cannot keep values out/);
    expect(serverLog().slice(after)).not.toContain(VALUE);
  });
});
