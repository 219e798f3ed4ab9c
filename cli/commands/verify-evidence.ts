// `phigate verify-evidence BUNDLE [--trusted-key FP]`: checks an evidence bundle offline and names the first problem.

import { parseArgs } from "node:util";
import { CliError, EXIT } from "#cli/cli-error.ts";
import { oneLine, stringifyForTerminal } from "#cli/safe-text.ts";
import type { Verification, VerifiedPolicyChange } from "#shared/evidence/verify-bundle.ts";
import type { PreviousCheckpoint } from "#shared/evidence/verify-log-section.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import { describeDifference, SIGNIFICANT_AREAS } from "#shared/policy/policy-diff.ts";

/** Exit statuses of verify-evidence. */
export const VERIFY_EXIT = {
  /** Every check passed. */
  ok: 0,
  /** The bundle is not authentic, complete and consistent (tampering, a missing file, a broken chain, ...). */
  integrity: 1,
  usage: 2,
  /**
   * The bundle is intact and records a violation (a field not granted, unmasked, an unreviewed export, or an export
   * the current analyzer and rules would have denied, sent to review or masked otherwise).
   */
  violation: 3,
} as const;

/** Usage text. */
export const VERIFY_EVIDENCE_USAGE = `phigate verify-evidence BUNDLE_DIR [--trusted-key FINGERPRINT] [--policy FILE] [--previous OLD_BUNDLE_DIR] [--json]
  Verifies an evidence bundle offline (no network, no DATA_DIR): every file's SHA-256 and size, no file
  missing or extra, the manifest's signature by the bundled key, the key's fingerprint against
  --trusted-key, the hash chain (digests, links, no gap, no reordering, counts), every cited policy and
  catalog snapshot present with its exact bytes, and for every export: each returned column granted and masked
  as the policy requires, the approvals the policy requires, and its SQL text analyzed again by this verifier's
  analyzer and rules (against the recorded catalog) with the same decision and masking. With --policy FILE,
  every export is checked against the policy you expect instead of the one it cites (an export it would have
  denied, masked or sent to review is a violation); policy changes in the range are listed either way.
  The bundle's entries must re-derive the roots of its two signed log checkpoints (a contiguous slice of the
  transparency log). With --previous OLD_BUNDLE_DIR (verified first, with the same --trusted-key), the bundle
  must prove its log extends the old bundle's end checkpoint: nothing recorded before was rewritten or forked.
  Exit 0 verified; 1 integrity problem (also a bundle that cannot be read: the file is named); 3 authentic
  but records a violation; 2 usage. The first line names the first class of problem found; every report
  names this verifier's analyzer version. Bundle files are read as hostile input (no symlink followed,
  regular files only, sizes capped by the manifest).`;

const NO_TRUSTED_KEY =
  "WARNING: no --trusted-key given. The bundle is consistent with the key it carries, but a bundle re-signed\n" +
  "with a replaced key can only be caught with --trusted-key FINGERPRINT (the fingerprint the gateway's\n" +
  "operator published, never the one printed from the bundle itself).";

/** Whether a change altered masking, grants or who matches them. */
function significant(change: VerifiedPolicyChange): boolean {
  return (change.differences ?? []).some((d) => SIGNIFICANT_AREAS.has(d.area));
}

/** The policy-change lines of a report: one per change (at most 20), and the rules it changed (at most 20 each). */
function changeLines(changes: readonly VerifiedPolicyChange[]): string[] {
  const lines: string[] = [];
  for (const c of changes.slice(0, 20)) {
    const from = c.from === null ? "(none recorded)" : `${c.from.name} ${c.from.digest.slice(0, 12)}`;
    lines.push(
      `  policy change at ${c.recordedAt} (seq ${c.seq}) by ${c.by.name}: ${from} → ${c.to.name} ${c.to.digest.slice(0, 12)}`,
    );
    const differences = c.differences ?? [];
    for (const d of differences.slice(0, 20)) lines.push(`      ${describeDifference(d)}`);
    if (differences.length > 20) lines.push(`      … and ${differences.length - 20} more`);
  }
  if (changes.length > 20)
    lines.push(`  … and ${changes.length - 20} more policy change(s) (--json lists all)`);
  return lines.map((line) => Array.from(oneLine(line)).slice(0, 400).join(""));
}

function summary(v: Verification): string {
  const m = v.manifest;
  const f = v.facts;
  if (m === undefined || f === undefined) return "";
  const chain =
    m.chain.first === null || m.chain.last === null
      ? "no entries in the range"
      : `seq ${m.chain.first.seq}–${m.chain.last.seq} (${m.chain.entries} entries), anchor ${m.chain.anchor?.slice(0, 16)}…${m.chain.anchor === m.chain.genesis ? " (the genesis)" : ""}, head ${m.chain.last.digest.slice(0, 16)}…`;
  return [
    `OK  evidence bundle ${m.bundleId} verifies`,
    `  range       ${m.range.from} <= recorded < ${m.range.to}`,
    `  chain       ${chain}: digests recompute, links hold, no gap, no reordering`,
    `  files       ${f.files} (manifest, signature and ${f.files - 2} listed): digests and sizes match, none missing or extra`,
    `  signature   ${m.signing.algorithm} by key ${v.keyFingerprint}`,
    `  key         ${v.trust === "matched" ? "matches --trusted-key" : "NOT CHECKED against a trusted fingerprint"}`,
    `  sessions    ${f.sessions}; exports ${f.exports}: ${f.authorized} granted by the policy they cite, ${f.maskedAsRequired} masked as it requires, ${f.reviewedByPeople} approved by people`,
    `  reanalysis  ${f.reanalyzed} of ${f.exports} export(s) analyzed again from their SQL text: same decision and masking`,
    `  analyzer    ${f.analyzer.verifier} (this verifier); the bundle was built by analyzer ${f.analyzer.bundle}`,
    `  approvals   ${f.approvals} decision(s), matching the records`,
    `  policies    ${f.policies} cited${f.policyChanges.length === 0 ? "" : `; ${f.policyChanges.length} change(s) recorded in the range, ${f.policyChanges.filter(significant).length} of them to masking or grants`}, each present with its exact text`,
    ...(f.expectedPolicy === undefined
      ? []
      : [
          `  --policy    every export checked against ${f.expectedPolicy.name} ${f.expectedPolicy.digest} instead of the policy it cites (${f.expectedPolicy.exportsCitingOthers} export(s) cite another)`,
        ]),
    `  catalogs    ${f.catalogs} snapshot(s) the sessions were analyzed against, each present with its exact bytes`,
    f.log === undefined
      ? "  log         no log section (a bundle made before the transparency log)"
      : `  log         leaves ${f.log.start.size}–${f.log.end.size - 1} of ${f.log.origin}: both checkpoints signed, roots re-derived from the entries${f.log.previous === undefined ? "" : `; extends the previous bundle's checkpoint of size ${f.log.previous.size}`}`,
  ]
    .map(oneLine)
    .join("\n");
}

/** Runs the command; returns the exit status. */
export async function verifyEvidenceCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      "trusted-key": { type: "string" },
      policy: { type: "string" },
      previous: { type: "string" },
      json: { type: "boolean", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const dir = positionals[0];
  if (dir === undefined || positionals.length > 1) {
    throw new CliError("usage", VERIFY_EVIDENCE_USAGE, VERIFY_EXIT.usage);
  }
  // Loaded here, not at start-up, so other commands do not pay for the policy and masking modules.
  const { COMPLIANCE_CLASSES, PROBLEM_MEANING } = await import("#shared/evidence/problems.ts");
  const { normalizeFingerprint, verifyBundle } = await import("#shared/evidence/verify-bundle.ts");
  const trustedKey = values["trusted-key"];
  if (trustedKey !== undefined && normalizeFingerprint(trustedKey) === undefined) {
    throw new CliError(
      "usage",
      "--trusted-key must be 64 hex digits (SHA-256 of the key's DER SPKI)",
      EXIT.usage,
    );
  }
  let expectedPolicy: LoadedPolicy | undefined;
  if (values.policy !== undefined) {
    const { loadPolicyFile } = await import("#shared/policy/load.ts");
    try {
      expectedPolicy = await loadPolicyFile(values.policy);
    } catch (error) {
      const reason = error instanceof Error ? (error.message.split("\n")[0] ?? "") : "cannot be read";
      throw new CliError("usage", `--policy: ${reason}`, VERIFY_EXIT.usage);
    }
  }
  let previous: PreviousCheckpoint | undefined;
  if (values.previous !== undefined) {
    const old = await verifyBundle(values.previous, trustedKey === undefined ? {} : { trustedKey });
    const oldProblem = old.problems.find((p) => !COMPLIANCE_CLASSES.has(p.class));
    if (oldProblem !== undefined || old.facts?.log === undefined) {
      process.stderr.write(
        `${oneLine(`FAIL previous_bundle: --previous ${values.previous} ${oldProblem === undefined ? "has no log section" : `does not verify (${oldProblem.class}: ${oldProblem.message})`}`)}\n`,
      );
      return VERIFY_EXIT.integrity;
    }
    const { previousFrom } = await import("#shared/evidence/verify-log-section.ts");
    previous = previousFrom(old.facts.log);
  }
  const v = await verifyBundle(dir, {
    ...(trustedKey === undefined ? {} : { trustedKey }),
    ...(expectedPolicy === undefined ? {} : { expectedPolicy }),
    ...(previous === undefined ? {} : { previous }),
  });
  const changes = changeLines(v.facts?.policyChanges ?? []);
  const first = v.problems[0];
  const status =
    first === undefined
      ? VERIFY_EXIT.ok
      : v.problems.every((p) => COMPLIANCE_CLASSES.has(p.class))
        ? VERIFY_EXIT.violation
        : VERIFY_EXIT.integrity;
  if (values.json) {
    process.stdout.write(`${stringifyForTerminal({ status, ...v }, 2)}\n`);
    return status;
  }
  const weakened = (v.facts?.policyChanges ?? []).some(significant);
  const changeNote =
    changes.length === 0
      ? ""
      : `${weakened && expectedPolicy === undefined ? "WARNING: masking or grants changed in this range; sessions were checked against the policy each cites. Check them against the policy you expect: --policy FILE\n" : ""}${changes.join("\n")}\n`;
  if (first === undefined) {
    process.stdout.write(`${summary(v)}\n`);
    process.stderr.write(changeNote);
    if (v.trust === "not_checked") process.stderr.write(`${NO_TRUSTED_KEY}\n`);
    return status;
  }
  const rest = v.problems.slice(1);
  const analyzer =
    v.facts === undefined
      ? []
      : [
          `  (analyzer ${v.facts.analyzer.verifier}; the bundle was built by analyzer ${v.facts.analyzer.bundle})`,
        ];
  const lines = [
    `FAIL ${first.class}: ${oneLine(first.message)}`,
    `  (${PROBLEM_MEANING[first.class]})`,
    ...analyzer,
    ...(rest.length === 0
      ? []
      : [
          `  ${rest.length} further problem(s):`,
          ...rest.slice(0, 20).map((p) => `    ${p.class}: ${oneLine(p.message)}`),
        ]),
    ...(rest.length > 20 ? [`    … and ${rest.length - 20} more (--json lists all)`] : []),
  ];
  process.stderr.write(`${lines.join("\n")}\n${changeNote}`);
  if (v.trust === "not_checked" && first.class !== "not_a_bundle")
    process.stderr.write(`${NO_TRUSTED_KEY}\n`);
  return status;
}
