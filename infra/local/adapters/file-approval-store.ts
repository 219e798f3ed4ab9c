// ApprovalStore on local files: one JSON document per approval under DATA_DIR/approvals/requests, replaced atomically.

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  APPROVAL_ID_PATTERN,
  type ApprovalState,
  type ApprovalStatus,
  approvalStateSchema,
} from "#shared/approval/approval-request.ts";
import {
  ConflictError,
  GoneError,
  NotFoundError,
  UnavailableError,
  VersionConflictError,
} from "#shared/errors.ts";
import type { ApprovalStore } from "#shared/ports.ts";
import { KeyedQueue, writeFileAtomic } from "./atomic-file.ts";

/**
 * Each approval is `<directory>/<approvalId>.json` (mode 0600), validated on every read and write. Writes are
 * conditional (checked and applied under a per-approval queue; the DATA_DIR lock keeps other processes out),
 * written to a temporary file, fsync'd and renamed into place, so a crash never leaves a torn document.
 */
export class FileApprovalStore implements ApprovalStore {
  private readonly queue = new KeyedQueue();

  constructor(private readonly directory: string) {}

  private pathOf(approvalId: string): string {
    if (!APPROVAL_ID_PATTERN.test(approvalId)) throw new NotFoundError("no such approval request");
    return join(this.directory, `${approvalId}.json`);
  }

  private async read(approvalId: string): Promise<ApprovalState | undefined> {
    let text: string;
    try {
      text = await readFile(this.pathOf(approvalId), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      if (error instanceof NotFoundError) return undefined;
      throw new UnavailableError("store_unavailable", "the approval store is unavailable", { cause: error });
    }
    return approvalStateSchema.parse(JSON.parse(text));
  }

  private async write(state: ApprovalState): Promise<ApprovalState> {
    const valid = approvalStateSchema.parse(state);
    try {
      await writeFileAtomic(this.pathOf(valid.approvalId), `${JSON.stringify(valid, null, 2)}\n`);
    } catch (error) {
      throw new UnavailableError("store_unavailable", "the approval store is unavailable", { cause: error });
    }
    return valid;
  }

  /** Reads, lets `change` check and build the next version, and writes it, all under the approval's queue. */
  private mutate(
    approvalId: string,
    at: Date,
    change: (current: ApprovalState) => Partial<ApprovalState> | undefined,
  ): Promise<ApprovalState> {
    return this.queue.run(approvalId, async () => {
      const current = await this.read(approvalId);
      if (current === undefined) throw new NotFoundError("no such approval request");
      const changes = change(current);
      if (changes === undefined) return current;
      return this.write({
        ...current,
        ...changes,
        version: current.version + 1,
        updatedAt: at.toISOString(),
      });
    });
  }

  create(state: ApprovalState): Promise<void> {
    return this.queue.run(state.approvalId, async () => {
      if ((await this.read(state.approvalId)) !== undefined)
        throw new ConflictError("approval_exists", "an approval with this id already exists");
      await this.write(state);
    });
  }

  get(approvalId: string): Promise<ApprovalState | undefined> {
    return this.read(approvalId);
  }

  appendDecision(
    approvalId: string,
    change: Parameters<ApprovalStore["appendDecision"]>[1],
  ): Promise<ApprovalState> {
    return this.mutate(approvalId, change.at, (current) => {
      const { decision } = change;
      if (current.status === "expired" || change.at.getTime() >= Date.parse(current.expiresAt))
        throw new GoneError("expired", "this approval request has expired");
      if (
        current.status !== "pending" ||
        current.decisions.some((d) => d.approverKey === decision.approverKey)
      )
        throw new ConflictError("already_decided", "the request is closed or this approver already decided");
      if (current.version !== change.expectedVersion)
        throw new VersionConflictError("the approval changed concurrently");
      return {
        status: change.status,
        decisions: [...current.decisions, decision],
        decidedAt: change.status === "pending" ? null : change.at.toISOString(),
      };
    });
  }

  transition(
    approvalId: string,
    from: readonly ApprovalStatus[],
    to: ApprovalStatus,
    at: Date,
  ): Promise<ApprovalState> {
    return this.mutate(approvalId, at, (current) => {
      if (!from.includes(current.status))
        throw new ConflictError(
          "status_conflict",
          `the approval is ${current.status}, not ${from.join(" or ")}`,
        );
      return { status: to };
    });
  }

  setTask(approvalId: string, change: Parameters<ApprovalStore["setTask"]>[1]): Promise<ApprovalState> {
    return this.mutate(approvalId, change.at, (current) => {
      const notifiedAt = current.notifiedAt ?? change.notifiedAt?.toISOString() ?? null;
      if (current.taskToken === change.taskToken && current.notifiedAt === notifiedAt) return undefined;
      return { taskToken: change.taskToken, notifiedAt };
    });
  }

  close(approvalId: string, at: Date): Promise<ApprovalState> {
    return this.mutate(approvalId, at, (current) =>
      current.closedAt !== null ? undefined : { params: null, closedAt: at.toISOString() },
    );
  }

  async listOpen(): Promise<ApprovalState[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new UnavailableError("store_unavailable", "the approval store is unavailable", { cause: error });
    }
    const open: ApprovalState[] = [];
    for (const name of names.sort()) {
      const id = name.endsWith(".json") ? name.slice(0, -5) : "";
      if (!APPROVAL_ID_PATTERN.test(id)) continue;
      const state = await this.read(id);
      if (state !== undefined && state.closedAt === null) open.push(state);
    }
    return open;
  }
}
