// `phigate seed --database-url URL`: creates the demo schema and the synthetic EHR in an existing PostgreSQL.

import { parseArgs } from "node:util";
import pg from "pg";
import { CliError, EXIT } from "#cli/cli-error.ts";
import { seedEhr } from "#tools/ehr/seed.ts";

/** Usage text. */
export const SEED_USAGE = `phigate seed --database-url URL [--patients N]
  Creates the demo tables and the deterministic synthetic EHR (no real person) in the database, once:
  a second run changes nothing. The gateway itself never writes to a DATABASE_URL database.`;

/** Runs the command; returns the exit status. */
export async function seedCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { "database-url": { type: "string" }, patients: { type: "string" } },
    strict: true,
  });
  const url = values["database-url"] ?? process.env.DATABASE_URL;
  if (url === undefined) throw new CliError("usage", SEED_USAGE, EXIT.usage);
  const client = new pg.Client({ connectionString: url, application_name: "phigate-seed" });
  try {
    await client.connect();
  } catch (error) {
    throw new CliError("database_unavailable", `cannot connect: ${(error as Error).message}`, EXIT.error);
  }
  try {
    const result = await seedEhr(
      client,
      values.patients === undefined ? {} : { patients: Number(values.patients) },
    );
    const { patients, encounters, medications } = result.counts;
    const verb = result.status === "seeded" ? "seeded" : "already seeded";
    process.stdout.write(
      `${verb}: ${patients} patients, ${encounters} encounters, ${medications} medications (${Math.round(result.durationMs)} ms)\n`,
    );
    return EXIT.ok;
  } finally {
    await client.end();
  }
}
