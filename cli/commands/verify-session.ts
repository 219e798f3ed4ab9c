// `phigate verify-session PROOF_FILE --trusted-key FP [--held-checkpoint NOTE]`: checks one session's log proof offline.

import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { CliError, EXIT } from "#cli/cli-error.ts";
import { oneLine } from "#cli/safe-text.ts";

/** Usage text. */
export const VERIFY_SESSION_USAGE = `phigate verify-session PROOF_FILE --trusted-key FINGERPRINT [--held-checkpoint NOTE_FILE]
  Verifies one session offline from its proof (GET /v1/sessions/{id}/proof, saved to PROOF_FILE; auditors):
  the proof's key must have the trusted fingerprint, the checkpoint must be signed by it, every version's
  entry must hash to its chain digest, be the session's versions 1..n in order, and be included in the
  checkpoint's Merkle tree (RFC 9162). It prints the last version's status: an inclusion proof shows what is in
  the log, not that nothing follows, so a last version that is not final does not show how the session ended. With --held-checkpoint (a checkpoint note you kept earlier; fetch the
  proof with ?since=ITS_SIZE), the proof's checkpoint must extend it. Exit 0 verified; 1 a problem; 2 usage.`;

const MAX_PROOF_BYTES = 64 * 1024 * 1024;

async function readSmall(path: string, what: string, cap: number): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    throw new CliError("usage", `${what} ${path} cannot be read`, EXIT.usage);
  }
  if (bytes.length > cap)
    throw new CliError("usage", `${what} ${path} is larger than ${cap} bytes`, EXIT.usage);
  return bytes.toString("utf8");
}

/** Runs the command; returns the exit status. */
export async function verifySessionCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { "trusted-key": { type: "string" }, "held-checkpoint": { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  const file = positionals[0];
  const { normalizeFingerprint } = await import("#shared/evidence/verify-bundle.ts");
  const trusted =
    values["trusted-key"] === undefined ? undefined : normalizeFingerprint(values["trusted-key"]);
  if (file === undefined || positionals.length > 1 || trusted === undefined) {
    throw new CliError("usage", VERIFY_SESSION_USAGE, EXIT.usage);
  }
  let document: unknown;
  try {
    document = JSON.parse(await readSmall(file, "the proof", MAX_PROOF_BYTES));
  } catch (error) {
    if (error instanceof CliError) throw error;
    document = undefined;
  }
  const held =
    values["held-checkpoint"] === undefined
      ? undefined
      : { note: await readSmall(values["held-checkpoint"], "the held checkpoint", 64 * 1024) };
  const { verifySessionProof } = await import("#shared/log/verify-session-proof.ts");
  const v = verifySessionProof(document, trusted, held);
  if (!v.ok) {
    const lines = v.problems.slice(0, 20).map((p) => `FAIL ${p.class}: ${oneLine(p.message)}`);
    process.stderr.write(`${lines.join("\n")}\n`);
    return 1;
  }
  process.stdout.write(
    `${[
      `OK  session ${oneLine(v.sessionId ?? "")} verifies`,
      `  versions    ${v.versions}: each hashes to its chain digest and is included in the log`,
      v.last === undefined
        ? "  last        no version"
        : v.last.final
          ? `  last        version ${v.versions} is ${oneLine(v.last.status)} (final)`
          : `  last        version ${v.versions} is ${oneLine(v.last.status)}, not final: this proof does not show how the session ended (a later version may exist; verify-evidence over the range shows every version)`,
      `  checkpoint  ${oneLine(v.checkpoint?.origin ?? "")} size ${v.checkpoint?.size}, root ${v.checkpoint?.root}, signed by the trusted key`,
      ...(held === undefined ? [] : ["  held        the checkpoint extends the one you held"]),
    ].join("\n")}\n`,
  );
  return 0;
}
