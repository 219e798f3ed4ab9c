// What each Lambda may use: decides its environment, its IAM grants and what its composition root builds.

import { TASK_NAMES, type TaskName } from "#shared/approval/workflow-description.ts";

/** The AWS resources one function uses; anything not listed is neither wired nor granted. */
export interface FunctionCapabilities {
  /** Runs statements through the RDS Data API (and so needs the SQL parser). */
  readonly database: boolean;
  /** Reads the key-material secret (keyed parameter digests, tokenization, approver sessions). */
  readonly keys: boolean;
  /**
   * `read`: GetItem on session items only; `chain`: also reads the chain (GetItem on its head, Query by day) for
   * replays and evidence bundles; `write`: session, chain and idempotency items, transactionally (no Query).
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
  /** Knows the gateway's public URL (approval links, cookie `Secure`, the page's Origin check). */
  readonly publicUrl: boolean;
  /** Knows the approvers' OIDC provider; `exchange` also holds its client secret (the callback redeems codes). */
  readonly signIn: "none" | "redirect" | "exchange";
}

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
  publicUrl: false,
  signIn: "none",
};

const caps = (granted: Partial<FunctionCapabilities>): FunctionCapabilities => ({ ...NOTHING, ...granted });

/** Capabilities by route id (every route in `shared/http/routes.ts` has an entry; a test checks it). */
export const ROUTE_CAPABILITIES: Readonly<Record<string, FunctionCapabilities>> = {
  "post-query": caps({
    database: true,
    keys: true,
    sessions: "write",
    results: "write",
    approvals: "write",
    workflow: "start",
    policyArchive: "write",
  }),
  "get-session": caps({ sessions: "read", results: "read" }),
  "get-session-replay": caps({ sessions: "chain", results: "read" }),
  "post-evidence-bundle": caps({ sessions: "chain", results: "read", evidence: true, policyArchive: "read" }),
  "post-approval-decision": caps({ sessions: "write", approvals: "write", workflow: "signal" }),
  "get-approval-page": caps({
    keys: true,
    sessions: "read",
    approvals: "read",
    publicUrl: true,
    signIn: "redirect",
  }),
  "post-approval-page": caps({
    keys: true,
    sessions: "write",
    approvals: "write",
    workflow: "signal",
    publicUrl: true,
    signIn: "redirect",
  }),
  "approval-sign-in": caps({ keys: true, publicUrl: true, signIn: "exchange" }),
};

/**
 * Capabilities of the approval workflow's task functions. `notify-approvers` completes its own task when a decision
 * landed before its token was stored (or fails it once the approval expired), so it may signal too.
 */
export const TASK_CAPABILITIES: Readonly<Record<TaskName, FunctionCapabilities>> = {
  "plan-wait": caps({ approvals: "read" }),
  "notify-approvers": caps({
    sessions: "read",
    approvals: "write",
    workflow: "signal",
    notify: true,
    publicUrl: true,
  }),
  "execute-approved": caps({
    database: true,
    keys: true,
    sessions: "write",
    results: "write",
    approvals: "write",
    policyArchive: "write",
  }),
  "close-denied": caps({ sessions: "write", approvals: "write" }),
  "close-expired": caps({ sessions: "write", approvals: "write" }),
  "close-failed": caps({ sessions: "write", approvals: "write" }),
};

/** Capabilities of the scheduled functions. */
export const SCHEDULED_CAPABILITIES = {
  /** The token holder's sweep: heartbeats, lost decisions re-sent, expired waits failed. */
  "approval-keeper": caps({ approvals: "list", workflow: "signal", sessions: "write", sweepsSessions: true }),
  /** Writes the previous UTC day's evidence bundle. */
  "nightly-evidence": caps({ sessions: "chain", results: "read", evidence: true, policyArchive: "read" }),
} as const satisfies Readonly<Record<string, FunctionCapabilities>>;

/** The function id of a workflow task (`task-<name>`). */
export function taskFunctionId(task: TaskName): string {
  return `task-${task}`;
}

const BY_FUNCTION: ReadonlyMap<string, FunctionCapabilities> = new Map([
  ...Object.entries(ROUTE_CAPABILITIES),
  ...TASK_NAMES.map((task) => [taskFunctionId(task), TASK_CAPABILITIES[task]] as const),
  ...Object.entries(SCHEDULED_CAPABILITIES),
]);

/** The capabilities of a function (route id, `task-<name>` or a scheduled function), or an error naming it. */
export function capabilitiesOf(functionId: string): FunctionCapabilities {
  const capabilities = BY_FUNCTION.get(functionId);
  if (capabilities === undefined) throw new TypeError(`function ${functionId} has no AWS capabilities`);
  return capabilities;
}
