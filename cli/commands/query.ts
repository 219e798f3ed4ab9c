// `phigate query SQL`: runs a statement through the gateway and prints the (masked) result.

import { parseArgs } from "node:util";
import { ApprovalProgress } from "#cli/approval-progress.ts";
import { CliError, EXIT } from "#cli/cli-error.ts";
import { callJson, gatewayUrl } from "#cli/client.ts";
import { FORMATS, formatResult, type ResultBody, resultSummary } from "#cli/format.ts";
import { oneLine, stringifyForTerminal } from "#cli/safe-text.ts";
import { tokenSource } from "#cli/token-source.ts";
import { type PendingAnswer, waitForApproval } from "#cli/wait-for-approval.ts";

/** Usage text. */
export const QUERY_USAGE = `phigate query SQL [--params JSON] [--purpose TEXT] [--format table|json|csv|ndjson]
                 [--dry-run] [--idempotency-key KEY] [--token T] [--url URL] [--audience A]
                 [--allow-unverified-result]
  Runs one statement. The token comes from --token, PHIGATE_TOKEN, or GitHub Actions' OIDC
  (permissions: id-token: write) for the audience (default: phigate; refreshed while waiting).
  A statement that needs approval (202) waits, with progress on stderr, until it is decided.
  A large result (resultUrl) is downloaded and printed as it arrives, with progress on stderr, and
  checked against the SHA-256 the gateway recorded (a mismatch exits 4 after printing: discard it; a
  result without one is refused unless --allow-unverified-result). What the gateway sends is shown, never
  obeyed: control characters appear as ⟨U+XXXX⟩, CSV cells that a spreadsheet would run start with '.
  Timeouts and caps: PHIGATE_CONNECT_TIMEOUT_MS (10 s), PHIGATE_HEADERS_TIMEOUT_MS (30 s),
  PHIGATE_IDLE_TIMEOUT_MS (30 s), PHIGATE_MAX_RESPONSE_BYTES (64 MiB), PHIGATE_MAX_RESULT_BYTES (4 GiB).
  Exit status: 0 result printed, 3 denied (policy or approver), 5 approval expired, 4 other error, 2 usage.`;

function parseParams(text: string | undefined): unknown[] | Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === "object" && value !== null) return value as unknown[] | Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new CliError("usage", "--params expects a JSON array (or an object keyed 1..n)", EXIT.usage);
}

/** Runs the command; returns the exit status. */
export async function queryCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      params: { type: "string" },
      purpose: { type: "string" },
      format: { type: "string", default: "table" },
      "dry-run": { type: "boolean", default: false },
      "idempotency-key": { type: "string" },
      token: { type: "string" },
      url: { type: "string" },
      audience: { type: "string" },
      "allow-unverified-result": { type: "boolean", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const sql = positionals.join(" ").trim();
  const format = values.format as (typeof FORMATS)[number];
  if (sql === "" || !FORMATS.includes(format)) throw new CliError("usage", QUERY_USAGE, EXIT.usage);
  const source = tokenSource(values.token, values.audience ?? "phigate");
  const params = parseParams(values.params);
  const body = {
    sql,
    ...(params === undefined ? {} : { params }),
    ...(values.purpose === undefined ? {} : { purpose: values.purpose }),
    ...(values["dry-run"] ? { dryRun: true } : {}),
  };
  const headers: Record<string, string> =
    values["idempotency-key"] === undefined ? {} : { "idempotency-key": values["idempotency-key"] };
  const url = gatewayUrl(values.url);
  const token = await source.token();
  const { status, body: answer } = await callJson(`${url}/v1/queries`, {
    method: "POST",
    token,
    body,
    headers,
  });
  if (values["dry-run"]) {
    process.stdout.write(`${stringifyForTerminal(answer, 2)}\n`);
    return EXIT.ok;
  }
  let result = answer as ResultBody & { status?: string };
  if (status === 202) {
    const pending = answer as PendingAnswer;
    process.stderr.write(
      `${oneLine(`session ${pending.sessionId} needs approval (${pending.approval?.reasons?.length} reason(s)); approvers have been notified`)}\n`,
    );
    result = await waitForApproval({
      url,
      pending,
      source,
      token,
      progress: new ApprovalProgress(process.stderr),
    });
  }
  if (result.resultUrl !== undefined) {
    // Loaded only for large results, so every other command starts as fast as before.
    const [{ openResultDownload }, { DownloadProgress }, { printDownloadedResult }] = await Promise.all([
      import("#cli/download.ts"),
      import("#cli/progress.ts"),
      import("#cli/stream-format.ts"),
    ]);
    const download = await openResultDownload(result.resultUrl, {
      ...(result.resultSha256 === undefined ? {} : { expectedSha256: result.resultSha256 }),
      allowUnverified: values["allow-unverified-result"],
      progress: (total) => new DownloadProgress(process.stderr, total),
    });
    await printDownloadedResult(result, download, format, process.stdout);
  } else {
    process.stdout.write(`${formatResult(result, format)}\n`);
  }
  process.stderr.write(`${resultSummary(result)}\n`);
  return EXIT.ok;
}
