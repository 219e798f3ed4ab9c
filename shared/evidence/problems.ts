// The classes of problem the evidence verifier reports, in the order it reports them (the first found names the failure).

/** Every problem class, most fundamental first: the verifier's headline is the first class with a problem. */
export const PROBLEM_CLASSES = [
  "not_a_bundle",
  "public_key_replaced",
  "signature_invalid",
  "untrusted_key",
  "file_missing",
  "file_unexpected",
  "record_altered",
  "record_missing",
  "record_inserted",
  "records_reordered",
  "chain_broken",
  "log_checkpoint_invalid",
  "log_proof_failed",
  "log_inconsistent",
  "policy_altered",
  "policy_unreadable",
  "catalog_altered",
  "catalog_unreadable",
  "approvals_altered",
  "file_altered",
  "policy_missing",
  "catalog_missing",
  "counts_mismatch",
  "unauthorized_column",
  "masking_mismatch",
  "approval_binding_mismatch",
  "review_missing",
  "reanalysis",
] as const;

/** A class of problem. */
export type ProblemClass = (typeof PROBLEM_CLASSES)[number];

/** What each class means, in one sentence (printed after the specific message). */
export const PROBLEM_MEANING: Readonly<Record<ProblemClass, string>> = {
  not_a_bundle: "the folder is not a readable phigate evidence bundle",
  public_key_replaced: "the bundled public key is not the key the signed manifest names: it was replaced",
  signature_invalid: "the manifest does not carry a valid signature by the bundled key: it was altered",
  untrusted_key: "the bundle is signed by a key other than the trusted one",
  file_missing: "a file the manifest lists is not in the bundle",
  file_unexpected: "the bundle holds a file the manifest does not list",
  record_altered: "a session record's content no longer matches its chain digest: it was altered",
  record_missing: "a chain entry of the range is missing: a record was removed",
  record_inserted:
    "a chain entry appears that does not belong to the range: a record was added or duplicated",
  records_reordered: "chain entries are out of order: records were moved",
  chain_broken: "an entry does not link to the digest before it: the chain was rewritten",
  log_checkpoint_invalid:
    "a log checkpoint in the bundle is not a checkpoint signed by the bundle's key for the range's ends",
  log_proof_failed:
    "the bundle's entries do not re-derive the signed log checkpoints: the range is not the log's contiguous slice",
  log_inconsistent:
    "the log this bundle proves does not extend the previous bundle's checkpoint: a fork, or history rewritten",
  policy_altered:
    "a bundled policy's text does not hash to the digest decisions cite: it was edited after the fact",
  policy_unreadable: "a bundled policy hashes correctly but this verifier cannot parse it",
  catalog_altered:
    "a bundled catalog snapshot does not hash to the digest its sessions record: it was changed after they were analyzed",
  catalog_unreadable: "a bundled catalog snapshot hashes correctly but this verifier cannot read it",
  approvals_altered: "approvals.jsonl does not match the approvals recorded in the session chain",
  file_altered: "a file's digest or size does not match the signed manifest",
  policy_missing: "a session cites a policy that is not in the bundle",
  catalog_missing:
    "a session cites a catalog snapshot that is not in the bundle, or an export's record names none: it cannot be re-analyzed",
  counts_mismatch: "the manifest's counts do not match the bundle's content",
  unauthorized_column: "a session returned data that the policy it cites does not grant",
  masking_mismatch: "a session returned a column without the masking its policy requires",
  approval_binding_mismatch:
    "a session's approval is bound to another statement, parameters or requester than the record's: the record changed after approval",
  review_missing: "a session returned data without the human approval its policy requires",
  reanalysis:
    "re-analyzed from its SQL text by this verifier's analyzer and rules, an export would have been denied, reviewed or masked differently than recorded",
};

/** Classes that mean the bundle is authentic and intact but records a compliance violation. */
export const COMPLIANCE_CLASSES: ReadonlySet<ProblemClass> = new Set([
  "unauthorized_column",
  "masking_mismatch",
  "approval_binding_mismatch",
  "review_missing",
  "reanalysis",
]);

/** One problem found. */
export interface Problem {
  readonly class: ProblemClass;
  readonly message: string;
}

/** Problems sorted by class precedence (stable within a class). */
export function byPrecedence(problems: readonly Problem[]): Problem[] {
  const rank = (p: Problem): number => PROBLEM_CLASSES.indexOf(p.class);
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => rank(a.p) - rank(b.p) || a.i - b.i)
    .map(({ p }) => p);
}
