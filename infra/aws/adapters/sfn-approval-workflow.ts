// ApprovalWorkflow on Step Functions: one execution per approval (named by its id), task tokens completed by the core.

import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { approvalWorkflowInputSchema } from "#shared/approval/approval-workflow.ts";
import { ConflictError, UnavailableError } from "#shared/errors.ts";
import type { ApprovalWorkflow, DecisionOutput } from "#shared/ports.ts";

/** Options of the adapter. */
export interface SfnApprovalWorkflowOptions {
  readonly client: SFNClient;
  /** The approval state machine (`toAmazonStatesLanguage(APPROVAL_STATES, arns)`); needed only to start executions. */
  readonly stateMachineArn?: string | undefined;
}

/** Errors Step Functions answers for a token that is unknown, timed out or already completed. */
const TOKEN_NOT_OPEN = new Set(["TaskDoesNotExist", "TaskTimedOut", "InvalidToken"]);

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : "";
}

/**
 * The token failures become `ConflictError("task_not_open")`; anything else `UnavailableError("workflow_unavailable")`.
 * Neither keeps the SDK error as its cause: Step Functions may echo the token in its message, and a token must
 * never reach a log line.
 */
function tokenFailure(error: unknown): Error {
  if (TOKEN_NOT_OPEN.has(nameOf(error)))
    return new ConflictError(
      "task_not_open",
      "no open task has this token (unknown, timed out or completed)",
    );
  return new UnavailableError(
    "workflow_unavailable",
    `the approval workflow did not answer (${nameOf(error)})`,
  );
}

/**
 * `start` is `StartExecution` with the approval id as the execution name and `{approvalId, sessionId}` as input:
 * Step Functions runs one execution per name, so a retried start returns the running execution (same input) or
 * answers `ExecutionAlreadyExists` (taken as started, as the local runner does). The `SendTask*` calls pass the
 * token the core read from the approval store; the token is never logged or put into an error.
 */
export class SfnApprovalWorkflow implements ApprovalWorkflow {
  constructor(private readonly options: SfnApprovalWorkflowOptions) {}

  async start(request: { readonly approvalId: string; readonly sessionId: string }): Promise<void> {
    const input = approvalWorkflowInputSchema.parse(request);
    if (this.options.stateMachineArn === undefined)
      throw new UnavailableError("workflow_unavailable", "this function cannot start approval workflows");
    try {
      await this.options.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.options.stateMachineArn,
          name: input.approvalId,
          input: JSON.stringify({ approvalId: input.approvalId, sessionId: input.sessionId }),
        }),
      );
    } catch (error) {
      if (nameOf(error) === "ExecutionAlreadyExists") return;
      throw new UnavailableError("workflow_unavailable", "the approval workflow could not be started", {
        cause: error,
      });
    }
  }

  async sendTaskSuccess(taskToken: string, output: DecisionOutput): Promise<void> {
    try {
      await this.options.client.send(
        new SendTaskSuccessCommand({ taskToken, output: JSON.stringify({ outcome: output.outcome }) }),
      );
    } catch (error) {
      throw tokenFailure(error);
    }
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    try {
      await this.options.client.send(
        new SendTaskFailureCommand({ taskToken, error: error.slice(0, 256), cause: cause.slice(0, 32_768) }),
      );
    } catch (failure) {
      throw tokenFailure(failure);
    }
  }

  async sendTaskHeartbeat(taskToken: string): Promise<void> {
    try {
      await this.options.client.send(new SendTaskHeartbeatCommand({ taskToken }));
    } catch (error) {
      throw tokenFailure(error);
    }
  }
}
