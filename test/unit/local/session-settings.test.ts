// The output settings each executor applies (PGlite's SET statements, the server pool's startup options, the Data
// API's transaction-local set_config) are the same list: a setting missing from one form changes its values' text.

import type pg from "pg";
import { expect, it } from "vitest";
import { localSettingsSql } from "#infra/aws/adapters/rds-data-executor.ts";
import { PgExecutor } from "#infra/local/adapters/pg-executor.ts";
import { silentLogger } from "#shared/log.ts";
import { SESSION_SETTINGS, SESSION_SETTINGS_SQL } from "#shared/sql/values.ts";

type Settings = [string, string][];

function fromSetStatements(sql: string): Settings {
  return sql.split(/;\s*/).map((statement) => {
    const match = /^SET (\w+) = '([^']*)'$/.exec(statement.trim());
    if (match === null) throw new Error(`not a SET statement: ${statement}`);
    return [match[1] ?? "", match[2] ?? ""];
  });
}

/** `-c name=value` arguments of a libpq options string (arguments split on unescaped spaces). */
function fromStartupOptions(options: string): Settings {
  const args = (options.match(/(?:\\.|[^\s\\])+/g) ?? []).map((arg) => arg.replace(/\\(.)/g, "$1"));
  const settings: Settings = [];
  for (let i = 0; i < args.length; i += 2) {
    expect(args[i]).toBe("-c");
    const [name = "", ...value] = (args[i + 1] ?? "").split("=");
    settings.push([name, value.join("=")]);
  }
  return settings;
}

function fromSetConfig(sql: string): Settings {
  return [...sql.matchAll(/set_config\('(\w+)', '([^']*)', true\)/g)]
    .map((m): [string, string] => [m[1] ?? "", m[2] ?? ""])
    .filter(([name]) => name !== "statement_timeout");
}

function poolOptions(): string {
  const executor = new PgExecutor({ connectionString: "postgres://127.0.0.1:1/none", logger: silentLogger });
  const pool = (executor as unknown as { pool: pg.Pool & { options: { options?: string } } }).pool;
  const options = pool.options.options ?? "";
  void pool.end();
  return options;
}

it("applies the same output settings in PGlite, on a PostgreSQL server and through the Data API", () => {
  const sorted = (settings: Settings) => [...settings].sort(([a], [b]) => a.localeCompare(b));
  const expected = sorted(SESSION_SETTINGS.map(([name, value]): [string, string] => [name, value]));
  expect(expected.map(([name]) => name)).toContain("bytea_output");
  expect(sorted(fromSetStatements(SESSION_SETTINGS_SQL))).toEqual(expected);
  expect(sorted(fromStartupOptions(poolOptions()))).toEqual(expected);
  expect(sorted(fromSetConfig(localSettingsSql(1_000)))).toEqual(expected);
});
