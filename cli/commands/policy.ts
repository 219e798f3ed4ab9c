// `phigate policy check FILE` and `phigate policy test FILE --claims JSON --sql SQL`: a policy's unit tests, offline.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CliError, EXIT } from "#cli/cli-error.ts";
import { PgExecutor } from "#infra/local/adapters/pg-executor.ts";
import { PgliteExecutor } from "#infra/local/adapters/pglite-executor.ts";
import { PhigateError } from "#shared/errors.ts";
import { principalFromClaims } from "#shared/identity/principal.ts";
import { silentLogger } from "#shared/log.ts";
import { policyJsonSchemaText } from "#shared/policy/json-schema.ts";
import { loadPolicyFile } from "#shared/policy/load.ts";
import type { SqlExecutor } from "#shared/ports.ts";
import { decideStatement, maskingSummary } from "#shared/sessions/decide.ts";
import { createStatementAnalyzer } from "#shared/sql/statement-analyzer.ts";
import { EHR_SCHEMA_SQL } from "#tools/ehr/schema.ts";

/** Usage text. */
export const POLICY_USAGE = `phigate policy schema
  Prints the policy file's JSON Schema (also committed as policy/policy.schema.json).
phigate policy check FILE
  Validates a policy file; prints its name and digest, or the offending path.
phigate policy test FILE --claims JSON --sql SQL [--params JSON] [--purpose TEXT] [--estimated-rows N]
                    [--database-url URL] [--dev-issuer URL] [--expect allow|deny|require_approval]
  Decides one statement for the given token claims, offline: against the demo schema in a throwaway
  embedded database (or the catalog of --database-url, read-only). Planner estimates come from
  --estimated-rows (default 0). With --expect, exits 1 when the decision differs.`;

async function check(file: string): Promise<number> {
  const policy = await loadPolicyFile(file);
  process.stdout.write(`${policy.source}: valid (policy ${policy.document.name}, sha256 ${policy.digest})\n`);
  return EXIT.ok;
}

async function catalogExecutor(
  databaseUrl: string | undefined,
): Promise<{ executor: SqlExecutor; close(): Promise<void> }> {
  if (databaseUrl !== undefined) {
    const executor = new PgExecutor({ connectionString: databaseUrl, logger: silentLogger, poolSize: 1 });
    return { executor, close: () => executor.close() };
  }
  const dir = await mkdtemp(join(tmpdir(), "phigate-policy-test-"));
  const executor = await PgliteExecutor.start({ dataDir: join(dir, "pgdata"), logger: silentLogger });
  await executor.admin(EHR_SCHEMA_SQL);
  return {
    executor,
    close: async () => {
      await executor.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function json(text: string, flag: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError("usage", `${flag} is not valid JSON`, EXIT.usage);
  }
}

async function test(file: string, argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      claims: { type: "string" },
      sql: { type: "string" },
      params: { type: "string" },
      purpose: { type: "string" },
      "estimated-rows": { type: "string", default: "0" },
      "database-url": { type: "string" },
      "dev-issuer": { type: "string", default: "http://127.0.0.1:8787/dev-idp" },
      expect: { type: "string" },
    },
    strict: true,
  });
  if (values.claims === undefined || values.sql === undefined)
    throw new CliError("usage", POLICY_USAGE, EXIT.usage);
  const claims = json(values.claims, "--claims");
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    throw new CliError("usage", "--claims must be a JSON object with at least iss and sub", EXIT.usage);
  }
  const principal = principalFromClaims(claims as Record<string, unknown>, "groups");
  const params = values.params === undefined ? [] : json(values.params, "--params");
  if (!Array.isArray(params)) throw new CliError("usage", "--params must be a JSON array", EXIT.usage);
  const estimated = Number(values["estimated-rows"]);
  const policy = await loadPolicyFile(file);
  const { executor, close } = await catalogExecutor(values["database-url"]);
  try {
    const analyzer = await createStatementAnalyzer(executor);
    const { classification } = await analyzer.analyze(values.sql);
    const { decision, plan } = await decideStatement({
      policy,
      context: { devIssuer: values["dev-issuer"] },
      principal,
      classification,
      purpose: values.purpose ?? null,
      estimateRows: async () => estimated,
    });
    const report = {
      decision: decision.outcome,
      reasons: decision.reasons,
      rules: decision.rules,
      matchedPrincipal: decision.matchedPrincipal,
      limits: decision.limits,
      masking: maskingSummary(plan),
      policy: decision.policy,
      classification: {
        kind: classification.kind,
        tables: classification.relations.map((r) => `${r.schema}.${r.table}`),
        params: params.length,
      },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    if (values.expect !== undefined && values.expect !== decision.outcome) {
      process.stderr.write(`expected ${values.expect}, got ${decision.outcome}\n`);
      return 1;
    }
    return EXIT.ok;
  } finally {
    await close();
  }
}

/** Runs the command; returns the exit status. */
export async function policyCommand(argv: string[]): Promise<number> {
  const [action, file, ...rest] = argv;
  if (action === "schema") {
    process.stdout.write(policyJsonSchemaText());
    return EXIT.ok;
  }
  if ((action !== "check" && action !== "test") || file === undefined)
    throw new CliError("usage", POLICY_USAGE, EXIT.usage);
  try {
    return action === "check" ? await check(file) : await test(file, rest);
  } catch (error) {
    if (error instanceof PhigateError && !(error instanceof CliError)) {
      throw new CliError(error.code, error.message, action === "check" ? 1 : EXIT.error);
    }
    throw error;
  }
}
