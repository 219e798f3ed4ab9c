// `phigate github-action`: the GitHub Action's entry (action.yml): a query to a file and the summary, and/or the proxy.

import { join } from "node:path";
import { EXIT } from "#cli/cli-error.ts";
import { gatewayUrl } from "#cli/client.ts";
import { FORMATS } from "#cli/format.ts";
import { command, workflowFiles } from "#cli/github-action/workflow-files.ts";
import { tokenSource } from "#cli/token-source.ts";

/** Usage text. */
export const GITHUB_ACTION_USAGE = `phigate github-action
  The GitHub Action's entry point (action.yml), configured by INPUT_* variables: SQL, PARAMS, PURPOSE, FORMAT,
  OUTPUT, SUMMARY_ROWS, URL, AUDIENCE, PROXY, PROXY_PORT. The token is the job's OIDC token.`;

const EXTENSIONS: Readonly<Record<(typeof FORMATS)[number], string>> = {
  csv: "csv",
  json: "json",
  ndjson: "ndjson",
  table: "txt",
};

function input(name: string): string {
  return (process.env[`INPUT_${name}`] ?? "").trim();
}

function fail(message: string): number {
  process.stdout.write(command("error", `phigate: ${message}`));
  return EXIT.usage;
}

/** Runs the Action; returns the exit status (the step fails on any but 0). */
export async function githubActionCommand(_argv: string[]): Promise<number> {
  const env = process.env;
  const log = (text: string): void => void process.stdout.write(text);
  const files = workflowFiles(env);
  const urlInput = input("URL") || env.PHIGATE_URL;
  if (urlInput === undefined || urlInput === "") return fail("the url input (or PHIGATE_URL) is required");
  const url = gatewayUrl(urlInput);
  const audience = input("AUDIENCE") || "phigate";
  const sql = input("SQL");
  const proxy = /^(true|yes|on|1)$/i.test(input("PROXY"));
  if (sql === "" && !proxy) return fail("give sql, or proxy: true, or both");
  const format = (input("FORMAT") || "csv") as (typeof FORMATS)[number];
  if (!FORMATS.includes(format)) return fail(`format must be one of ${FORMATS.join(", ")}`);
  const summaryRows = Number(input("SUMMARY_ROWS") || "10");
  if (!Number.isInteger(summaryRows) || summaryRows < 0) return fail("summary-rows must be a whole number");
  const port = Number(input("PROXY_PORT") || "5432");
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return fail("proxy-port must be a port number");
  let params: unknown[] | undefined;
  if (input("PARAMS") !== "") {
    try {
      params = JSON.parse(input("PARAMS")) as unknown[];
    } catch {
      params = undefined;
    }
    if (!Array.isArray(params)) return fail("params must be a JSON array");
  }
  const run = [env.GITHUB_REPOSITORY, env.GITHUB_WORKFLOW, env.GITHUB_RUN_ID && `run ${env.GITHUB_RUN_ID}`]
    .filter((part) => part !== undefined && part !== "")
    .join(" · ");
  const purpose = input("PURPOSE") || (run === "" ? undefined : `GitHub Actions: ${run}`);
  if (sql !== "") {
    const [{ HttpGatewayClient }, { runActionQuery }] = await Promise.all([
      import("#cli/http-gateway-client.ts"),
      import("#cli/github-action/run-query.ts"),
    ]);
    const client = new HttpGatewayClient(url, tokenSource(undefined, audience));
    const status = await runActionQuery(
      client,
      {
        sql,
        format,
        output: input("OUTPUT") || `phigate-result.${EXTENSIONS[format]}`,
        summaryRows,
        ...(params === undefined ? {} : { params }),
        ...(purpose === undefined ? {} : { purpose }),
      },
      files,
      log,
    );
    if (status !== EXIT.ok) return status;
  }
  if (proxy) {
    const { startBackgroundProxy } = await import("#cli/github-action/start-proxy.ts");
    await startBackgroundProxy(
      {
        url,
        audience,
        port,
        logFile: join(env.RUNNER_TEMP ?? ".", "phigate-proxy.log"),
        ...(purpose === undefined ? {} : { purpose }),
      },
      files,
      log,
    );
  }
  return EXIT.ok;
}
