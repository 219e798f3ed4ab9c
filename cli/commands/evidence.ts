// `phigate evidence --from --to`: asks the gateway for a signed evidence bundle (auditor token), or builds one offline.

import { parseArgs } from "node:util";
import { CliError, EXIT } from "#cli/cli-error.ts";
import { callJson, gatewayUrl } from "#cli/client.ts";
import { retryDelayMs } from "#cli/retry.ts";
import { oneLine, stringifyForTerminal } from "#cli/safe-text.ts";
import { tokenSource } from "#cli/token-source.ts";

/** Usage text. */
export const EVIDENCE_USAGE = `phigate evidence --from ISO-8601 [--to ISO-8601] [--token T] [--url URL] [--audience A]
phigate evidence --from ISO-8601 [--to ISO-8601] --data-dir DIR
  Makes a signed evidence bundle of the session chain recorded in [from, to) (at most 31 days, not in the
  future; --to defaults to now) and prints its id, location (the bundle's folder) and signing-key
  fingerprint as JSON. By default through the gateway with an
  auditor's token (POST /v1/evidence-bundles). With --data-dir, offline from a local DATA_DIR while no
  gateway runs on it (it takes the DATA_DIR lock); the bundle is signed with that DATA_DIR's key.
  A gateway that builds bundles as a job (AWS) answers 202: the command then asks the bundle's status
  (honouring Retry-After) until it is ready, at most --wait seconds (default 900), and fails if it failed.`;

/** A bundle's status as the gateway answers it (201/202 of the request, or the status route). */
interface BundleAnswer {
  readonly bundleId: string;
  readonly location: string;
  readonly keyFingerprint: string;
  readonly entries: number;
  readonly status?: "building" | "ready" | "failed";
  readonly statusUrl?: string;
  readonly message?: string;
}

/** Asks a building bundle's status until it is ready (or failed, or `waitSeconds` passed), as Retry-After says. */
async function awaitReady(
  base: string,
  first: { body: BundleAnswer; retryAfterMs: number },
  token: () => Promise<string>,
  waitSeconds: number,
): Promise<BundleAnswer> {
  const deadline = Date.now() + waitSeconds * 1000;
  let answer = first.body;
  let delay = first.retryAfterMs;
  while (answer.status === "building") {
    if (Date.now() + delay > deadline)
      throw new CliError(
        "timeout",
        `bundle ${answer.bundleId} is still building; ask again later`,
        EXIT.error,
      );
    await new Promise((resolve) => setTimeout(resolve, delay));
    const next = await callJson(`${base}${answer.statusUrl ?? `/v1/evidence-bundles/${answer.bundleId}`}`, {
      method: "GET",
      token: await token(),
    });
    answer = next.body as BundleAnswer;
    delay = retryDelayMs(next, 2);
  }
  if (answer.status === "failed")
    throw new CliError(
      "bundle_failed",
      oneLine(`bundle ${answer.bundleId} failed: ${answer.message ?? ""}`),
      EXIT.error,
    );
  return answer;
}

function instant(name: string, value: string | undefined): string {
  if (value === undefined || Number.isNaN(Date.parse(value)) || !/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    throw new CliError(
      "usage",
      `--${name} must be an ISO-8601 date-time (e.g. 2026-05-01T00:00:00Z)`,
      EXIT.usage,
    );
  }
  return value;
}

/** Runs the command; returns the exit status. */
export async function evidenceCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      from: { type: "string" },
      to: { type: "string" },
      "data-dir": { type: "string" },
      token: { type: "string" },
      url: { type: "string" },
      audience: { type: "string" },
      wait: { type: "string" },
    },
    allowPositionals: false,
    strict: true,
  });
  if (positionals.length > 0) throw new CliError("usage", EVIDENCE_USAGE, EXIT.usage);
  const from = instant("from", values.from);
  const to =
    values.to === undefined
      ? new Date(Math.floor(Date.now() / 1000) * 1000).toISOString()
      : instant("to", values.to);
  const waitSeconds = values.wait === undefined ? 900 : Number(values.wait);
  if (!Number.isInteger(waitSeconds) || waitSeconds < 0)
    throw new CliError("usage", "--wait must be a number of seconds", EXIT.usage);
  let answer: BundleAnswer;
  if (values["data-dir"] !== undefined) {
    // Loaded only for the offline path, so the CLI starts fast for everything else.
    const { buildBundleFromDataDir } = await import("#infra/local/offline-evidence.ts");
    const { PhigateError } = await import("#shared/errors.ts");
    const { createJsonLogger } = await import("#shared/log.ts");
    try {
      const built = await buildBundleFromDataDir(
        values["data-dir"],
        new Date(from),
        new Date(to),
        createJsonLogger({
          service: "phigate-evidence",
          level: "warn",
          write: (l) => process.stderr.write(`${l}\n`),
        }),
      );
      answer = {
        bundleId: built.bundleId,
        location: built.location,
        keyFingerprint: built.manifest.signing.keyFingerprint,
        entries: built.manifest.counts.entries,
      };
    } catch (error) {
      if (error instanceof PhigateError) throw new CliError(error.code, error.message, EXIT.error);
      throw error;
    }
  } else {
    const source = tokenSource(values.token, values.audience ?? "phigate");
    const base = gatewayUrl(values.url);
    const made = await callJson(`${base}/v1/evidence-bundles`, {
      method: "POST",
      token: await source.token(),
      body: { from, to },
    });
    answer =
      made.status === 202
        ? await awaitReady(
            base,
            { body: made.body as BundleAnswer, retryAfterMs: retryDelayMs(made, 2) },
            () => source.token(),
            waitSeconds,
          )
        : (made.body as BundleAnswer);
  }
  process.stdout.write(`${stringifyForTerminal(answer, 2)}\n`);
  process.stderr.write(
    `${oneLine(`bundle ${answer.bundleId}: ${answer.entries} chain entries`)}\n${oneLine(`verify it with: phigate verify-evidence ${answer.location} --trusted-key ${answer.keyFingerprint}`)}\n(compare that fingerprint with the one your operator published, not with the bundle's own)\n`,
  );
  return EXIT.ok;
}
