// `phigate proxy`: a PostgreSQL wire-protocol listener on 127.0.0.1; each statement becomes one gateway request.

import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { CliError, EXIT } from "#cli/cli-error.ts";
import { gatewayUrl } from "#cli/client.ts";
import { tokenSource } from "#cli/token-source.ts";

/** Usage text. */
export const PROXY_USAGE = `phigate proxy [--port 5432] [--purpose TEXT] [--token T] [--url URL] [--audience A]
  Listens on 127.0.0.1 for PostgreSQL clients (psql, node-postgres, psycopg, JDBC): each statement becomes one
  POST /v1/queries with this identity (--token, PHIGATE_TOKEN, or GitHub Actions' OIDC, refreshed as it ages).
  Clients log in with any user and the password in PHIGATE_PROXY_PASSWORD (generated and printed when unset),
  sslmode=disable or prefer. A statement that needs approval waits, with NOTICEs naming the approval and its link.
  Refused: REPEATABLE READ/SERIALIZABLE transactions, COPY, SQL-level cursors and PREPARE, binary format.
  Stops on SIGINT/SIGTERM.`;

/** Runs the proxy until a signal; returns the exit status. */
export async function proxyCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "5432" },
      purpose: { type: "string" },
      token: { type: "string" },
      url: { type: "string" },
      audience: { type: "string" },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new CliError("usage", PROXY_USAGE, EXIT.usage);
  const given = process.env.PHIGATE_PROXY_PASSWORD;
  const password = given !== undefined && given !== "" ? given : randomBytes(18).toString("base64url");
  const url = gatewayUrl(values.url);
  const [{ HttpGatewayClient }, { startProxy }] = await Promise.all([
    import("#cli/http-gateway-client.ts"),
    import("#cli/proxy/proxy-server.ts"),
  ]);
  const proxy = await startProxy({
    client: new HttpGatewayClient(url, tokenSource(values.token, values.audience ?? "phigate")),
    port,
    password,
    ...(values.purpose === undefined ? {} : { purpose: values.purpose }),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stderr.write(
    `phigate proxy on ${proxy.host}:${proxy.port} for ${url} (user: any, password: ${given === undefined || given === "" ? password : "PHIGATE_PROXY_PASSWORD"})\n`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await proxy.close();
  return EXIT.ok;
}
