// `npm start`: the embedded default — the gateway, its stores and (in development) its dev IdP on one machine.

import { relative } from "node:path";
import { type LocalHost, startLocalHost } from "#infra/local/compose.ts";
import { localConfigFromEnv } from "#infra/local/config.ts";
import { PhigateError } from "#shared/errors.ts";
import { createJsonLogger } from "#shared/log.ts";

function banner(host: LocalHost, evidenceKey: string): string {
  const { config, url } = host;
  const dataDir = relative(process.cwd(), config.dataDir) || ".";
  const db =
    host.database.kind === "pglite"
      ? `embedded PostgreSQL (PGlite) in ${dataDir}/pgdata${host.database.seeded === "now" ? " — seeded the synthetic EHR just now" : ""}`
      : "PostgreSQL from DATABASE_URL (read-only)";
  const lines = [
    "",
    `phigate is serving ${url}`,
    `  API          POST ${url}/v1/queries · GET ${url}/v1/sessions/{id}`,
    `  approvals    ${url}/approvals/{id} (approvers sign in) · notifications in ${dataDir}/outbox/`,
    `  database     ${db}`,
    `  data         ${dataDir}/ (sessions journal, results, keys — keep it private)`,
    `  policy       ${relative(process.cwd(), config.policyPath)}`,
    `  evidence     ${dataDir}/evidence/, signed by key ${evidenceKey}`,
    "               (give auditors this fingerprint for phigate verify-evidence --trusted-key)",
  ];
  if (host.devIdp !== undefined) {
    lines.push(
      `  dev IdP      ${host.devIdp.issuer}  — DEVELOPMENT ONLY: it signs a token for anyone who asks`,
      "",
      "Try it:",
      `  export PHIGATE_TOKEN=$(npx phigate token --sub 'repo:acme/ehr-reports:ref:refs/heads/main')`,
      `  npx phigate query "SELECT id, department FROM encounters LIMIT 5"`,
      "  npx phigate session <sessionId from the line above>",
    );
  } else {
    lines.push("  identity     trusted issuers from PHIGATE_ISSUERS (dev IdP off: production mode)");
  }
  return `${lines.join("\n")}\n`;
}

async function main(): Promise<void> {
  const config = localConfigFromEnv(process.env);
  const logger = createJsonLogger({ service: "phigate", level: config.logLevel });
  const host = await startLocalHost(config, logger);
  process.stdout.write(banner(host, (await host.deps.signer.publicKey()).fingerprint));
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      // A second signal: stop now. Every answer given is already recorded; a statement cut off stays `running`
      // and the next start marks it failed (the kill -9 test proves the same).
      logger.warn("stopping now, without waiting for requests in flight", { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info("stopping: finishing requests in flight (signal again to stop now)", { signal });
    void host.close().then(() => process.exit(0));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  const message =
    error instanceof PhigateError ? error.message : error instanceof Error ? error.message : String(error);
  process.stderr.write(`phigate could not start: ${message}\n`);
  process.exit(1);
});
