// `phigate evidence --from --to`: asks the gateway for a signed evidence bundle (auditor token), or builds one offline.

import { parseArgs } from "node:util";
import { CliError, EXIT } from "#cli/cli-error.ts";
import { callJson, gatewayUrl } from "#cli/client.ts";
import { oneLine, stringifyForTerminal } from "#cli/safe-text.ts";
import { tokenSource } from "#cli/token-source.ts";

/** Usage text. */
export const EVIDENCE_USAGE = `phigate evidence --from ISO-8601 [--to ISO-8601] [--token T] [--url URL] [--audience A]
phigate evidence --from ISO-8601 [--to ISO-8601] --data-dir DIR
  Makes a signed evidence bundle of the session chain recorded in [from, to) (at most 31 days, not in the
  future; --to defaults to now) and prints its id, location (the bundle's folder) and signing-key
  fingerprint as JSON. By default through the gateway with an
  auditor's token (POST /v1/evidence-bundles). With --data-dir, offline from a local DATA_DIR while no
  gateway runs on it (it takes the DATA_DIR lock); the bundle is signed with that DATA_DIR's key.`;

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
  let answer: { bundleId: string; location: string; keyFingerprint: string; entries: number };
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
    const token = await tokenSource(values.token, values.audience ?? "phigate").token();
    const { body } = await callJson(`${gatewayUrl(values.url)}/v1/evidence-bundles`, {
      method: "POST",
      token,
      body: { from, to },
    });
    answer = body as typeof answer;
  }
  process.stdout.write(`${stringifyForTerminal(answer, 2)}\n`);
  process.stderr.write(
    `${oneLine(`bundle ${answer.bundleId}: ${answer.entries} chain entries`)}\n${oneLine(`verify it with: phigate verify-evidence ${answer.location} --trusted-key ${answer.keyFingerprint}`)}\n(compare that fingerprint with the one your operator published, not with the bundle's own)\n`,
  );
  return EXIT.ok;
}
