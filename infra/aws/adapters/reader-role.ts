// The read-only database role the functions sign in as: created through the Data API with the master secret (the
// password travels as a parameter, never in SQL text), and verified with its own credentials.

import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  ExecuteStatementCommand,
  type ExecuteStatementCommandOutput,
  type RDSDataClient,
  RollbackTransactionCommand,
  type SqlParameter,
} from "@aws-sdk/client-rds-data";
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

/** Where the role lives and how it is made. */
export interface ReaderRoleTarget {
  readonly clusterArn: string;
  readonly database: string;
  /** The secret holding `{username, password}` of the read-only role. */
  readonly readerSecretArn: string;
  /** Role-level statement timeout (a backstop under the per-statement one the executor sets). */
  readonly statementTimeoutMs: number;
  /** Schemas whose tables the role may read. */
  readonly schemas: readonly string[];
}

/** What the verification found (each must hold, or the deploy fails). */
export interface ReaderRoleFacts {
  readonly username: string;
  readonly superuser: boolean;
  readonly createsRoles: boolean;
  readonly createsDatabases: boolean;
  readonly readOnlyByDefault: boolean;
  /** Privileges other than SELECT the role holds on tables (must be none). */
  readonly writeGrants: number;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

async function readSecret(
  secrets: SecretsManagerClient,
  arn: string,
): Promise<{ username: string; password: string }> {
  const value = (await secrets.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString ?? "";
  const parsed = JSON.parse(value) as { username?: unknown; password?: unknown };
  if (
    typeof parsed.username !== "string" ||
    !IDENTIFIER.test(parsed.username) ||
    typeof parsed.password !== "string"
  ) {
    throw new Error(
      "the reader secret must hold {username, password} with a lower-case identifier as username",
    );
  }
  return { username: parsed.username, password: parsed.password };
}

/** Runs statements in one Data API transaction, committed when all succeed. */
async function inTransaction(
  client: RDSDataClient,
  target: { clusterArn: string; database: string },
  secretArn: string,
  work: (
    run: (sql: string, parameters?: SqlParameter[]) => Promise<ExecuteStatementCommandOutput>,
  ) => Promise<void>,
): Promise<void> {
  const base = { resourceArn: target.clusterArn, secretArn };
  const { transactionId } = await client.send(
    new BeginTransactionCommand({ ...base, database: target.database }),
  );
  try {
    await work((sql, parameters) =>
      client.send(
        new ExecuteStatementCommand({
          ...base,
          database: target.database,
          transactionId,
          sql,
          ...(parameters === undefined ? {} : { parameters }),
        }),
      ),
    );
    await client.send(new CommitTransactionCommand({ ...base, transactionId }));
  } catch (error) {
    await client.send(new RollbackTransactionCommand({ ...base, transactionId })).catch(() => undefined);
    throw error;
  }
}

/**
 * Creates (or updates) the role as the master user: login with the secret's password, no superuser or role/database
 * creation, read-only transactions by default, the statement timeout, CONNECT and USAGE, SELECT on every table of the
 * schemas now and later, and nothing else.
 */
export async function ensureReaderRole(
  clients: { rdsData: RDSDataClient; secrets: SecretsManagerClient },
  target: ReaderRoleTarget,
  masterSecretArn: string,
): Promise<void> {
  const { username, password } = await readSecret(clients.secrets, target.readerSecretArn);
  const schemas = target.schemas.filter((s) => IDENTIFIER.test(s));
  if (!IDENTIFIER.test(target.database) || schemas.length === 0)
    throw new Error("invalid database or schema names");
  const timeout = Math.max(1_000, Math.floor(target.statementTimeoutMs));
  await inTransaction(clients.rdsData, target, masterSecretArn, async (run) => {
    await run("SELECT set_config('phigate.reader_password', :password, true)", [
      { name: "password", value: { stringValue: password } },
    ]);
    await run(
      `DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${username}') THEN
    EXECUTE format('CREATE ROLE %I LOGIN', '${username}');
  END IF;
  EXECUTE format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L',
    '${username}', current_setting('phigate.reader_password'));
END $$`,
    );
    await run("SELECT set_config('phigate.reader_password', '', true)");
    await run(`ALTER ROLE ${username} SET default_transaction_read_only = on`);
    await run(`ALTER ROLE ${username} SET statement_timeout = ${timeout}`);
    await run(`GRANT CONNECT ON DATABASE ${target.database} TO ${username}`);
    for (const schema of schemas) {
      await run(`GRANT USAGE ON SCHEMA ${schema} TO ${username}`);
      await run(`REVOKE ALL ON ALL TABLES IN SCHEMA ${schema} FROM ${username}`);
      await run(`GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${username}`);
      await run(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT ON TABLES TO ${username}`);
    }
  });
}

/** Reads what the role may do, signed in as the role itself. */
export async function readerRoleFacts(
  client: RDSDataClient,
  target: Pick<ReaderRoleTarget, "clusterArn" | "database" | "readerSecretArn">,
): Promise<ReaderRoleFacts> {
  let facts: ReaderRoleFacts | undefined;
  await inTransaction(client, target, target.readerSecretArn, async (run) => {
    const role = await run(
      "SELECT current_user::text, rolsuper, rolcreaterole, rolcreatedb, current_setting('default_transaction_read_only') " +
        "FROM pg_roles WHERE rolname = current_user",
    );
    const grants = await run(
      "SELECT count(*)::int FROM information_schema.table_privileges WHERE grantee = current_user AND privilege_type <> 'SELECT'",
    );
    const [name, superuser, createRole, createDb, readOnly] = role.records?.[0] ?? [];
    facts = {
      username: name?.stringValue ?? "",
      superuser: superuser?.booleanValue ?? true,
      createsRoles: createRole?.booleanValue ?? true,
      createsDatabases: createDb?.booleanValue ?? true,
      readOnlyByDefault: readOnly?.stringValue === "on",
      writeGrants: Number(grants.records?.[0]?.[0]?.longValue ?? -1),
    };
  });
  if (facts === undefined) throw new Error("the reader role could not be read");
  return facts;
}

/** Throws unless the role is read-only in every respect the functions rely on. */
export function checkReaderFacts(facts: ReaderRoleFacts): void {
  const problems = [
    facts.superuser ? "is a superuser" : "",
    facts.createsRoles ? "may create roles" : "",
    facts.createsDatabases ? "may create databases" : "",
    facts.readOnlyByDefault ? "" : "does not default to read-only transactions",
    facts.writeGrants === 0 ? "" : `holds ${facts.writeGrants} table privilege(s) other than SELECT`,
  ].filter((p) => p.length > 0);
  if (problems.length > 0) throw new Error(`the database role ${facts.username} ${problems.join(", ")}`);
}
