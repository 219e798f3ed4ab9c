// What the approval services need beyond the session services, assembled once per host by its composition root.

import type { ApprovalStore, ApprovalWorkflow, Notifier } from "#shared/ports.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";

/** Dependencies of the approval request and decision paths. */
export interface ApprovalDeps extends SessionDeps {
  readonly approvals: ApprovalStore;
  readonly workflow: ApprovalWorkflow;
  /** Base URL of the links handed to approvers (`PHIGATE_PUBLIC_URL`, or the listening address). */
  readonly publicUrl: () => string;
}

/** Dependencies of the workflow's tasks (the notifier is used only there). */
export interface ApprovalTaskDeps extends ApprovalDeps {
  readonly notifier: Notifier;
}
