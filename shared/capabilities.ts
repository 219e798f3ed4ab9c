// What one entry point of the core (a route, a workflow task, a scheduled job) may use, declared beside its code.
// On AWS it decides the function's environment, its IAM grants and what its composition root builds.

/** The resources one entry point uses; anything not listed is neither wired nor granted. */
export interface FunctionCapabilities {
  /** Runs statements through the RDS Data API (and so needs the SQL parser). */
  readonly database: boolean;
  /** Reads the key-material secret (keyed parameter digests, tokenization, approver sessions). */
  readonly keys: boolean;
  /**
   * `read`: GetItem on session items only; `chain`: also reads the chain (GetItem on its head, Query by day) for
   * replays and evidence bundles; `write`: session, chain and idempotency items, transactionally (with `database`, also the read ledger's
   * items: the risk rules count a caller's reads per window, a completed session adds its rows; and the callers'
   * turn leases, taken and given back around a windowed statement).
   */
  readonly sessions: "none" | "read" | "chain" | "write";
  /** Lists running sessions (the sparse `running-sessions` index) to fail the ones a stopped function orphaned. */
  readonly sweepsSessions: boolean;
  /** `read`: GetObject on results; `write`: also PutObject (write-once). */
  readonly results: "none" | "read" | "write";
  /** `read`: GetItem on approval items (`list`: also Query on the open index); `write`: also Put/UpdateItem. */
  readonly approvals: "none" | "read" | "list" | "write";
  /** `start`: StartExecution on the approval state machine; `signal`: SendTaskSuccess/Failure/Heartbeat. */
  readonly workflow: "none" | "start" | "signal";
  /** Publishes to the approvers' SNS topic. */
  readonly notify: boolean;
  /** Signs with the evidence key (KMS) and writes bundles into the evidence bucket. */
  readonly evidence: boolean;
  /**
   * The archives of what decisions depend on, in the evidence bucket. `write`: archives the bundled policy at cold
   * start (it decides under it) and every catalog snapshot it analyzes against; `read`: reads archived policies and
   * catalog snapshots (to bundle them).
   */
  readonly policyArchive: "none" | "read" | "write";
  /**
   * Evidence bundles built as a job (`shared/evidence/evidence-jobs.ts`): `read` reads job records (the status route);
   * `start` records a job and starts its build (the request route); `run` marks records as the build goes (the job).
   */
  readonly evidenceJobs: "none" | "read" | "start" | "run";
  /**
   * The AWS transparency log. `read`: serves proofs against the sequencer's checkpoints (the signing key's public
   * half; with `evidence`, also checkpoints of the exact sizes a bundle needs); `sequence`: the one sequencer (links
   * the chain from the table's stream, writes its index and head, signs and stores checkpoints).
   */
  readonly log: "none" | "read" | "sequence";
  /** Knows the gateway's public URL (approval links, cookie `Secure`, the page's Origin check). */
  readonly publicUrl: boolean;
  /** Knows the approvers' OIDC provider; `exchange` also holds its client secret (the callback redeems codes). */
  readonly signIn: "none" | "redirect" | "exchange";
}

/** Nothing at all: the capabilities of an entry point that declares none. */
const NOTHING: FunctionCapabilities = {
  database: false,
  keys: false,
  sessions: "none",
  sweepsSessions: false,
  results: "none",
  approvals: "none",
  workflow: "none",
  notify: false,
  evidence: false,
  policyArchive: "none",
  evidenceJobs: "none",
  log: "none",
  publicUrl: false,
  signIn: "none",
};

/** What a declaration states: only what it uses (an absent capability is not granted). */
export type Capabilities = Partial<FunctionCapabilities>;

/** The full capabilities a declaration states (everything it does not name is off). */
export function fullCapabilities(declared: Capabilities): FunctionCapabilities {
  return { ...NOTHING, ...declared };
}

/**
 * What every entry point declares besides its code: a stable id (it names the Lambda function, its entry
 * `functions/<id>.ts`, `PHIGATE_FUNCTION_ID`) and the capabilities it uses. `needsParser`: the SQL parser's WASM ships
 * beside its bundle.
 */
export interface EntryDeclaration<C extends Capabilities = Capabilities> {
  readonly id: string;
  readonly capabilities: C;
  readonly needsParser: boolean;
}
