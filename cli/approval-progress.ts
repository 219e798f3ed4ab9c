// The live progress line while a query waits for approval: approvals so far / quorum and time left, on stderr.

import { oneLine } from "#cli/safe-text.ts";

/** What the progress line shows. */
export interface ProgressState {
  readonly approvalId: string;
  readonly sessionId: string;
  readonly status: string;
  readonly approvals: number;
  readonly quorum: number | undefined;
  readonly expiresAt: string;
}

/** `12:05` (minutes:seconds) or `1:02:05` left, or `expired`. */
export function timeLeftText(expiresAt: string, now: number): string {
  const seconds = Math.floor((Date.parse(expiresAt) - now) / 1000);
  if (!Number.isFinite(seconds) || seconds <= 0) return "expired";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** The progress text (no SQL, no token, no link: the approvers have the link). */
export function progressText(state: ProgressState, now: number): string {
  const quorum = state.quorum === undefined ? "?" : String(state.quorum);
  const phase =
    state.status === "pending_approval"
      ? `waiting for approval ${state.approvalId}`
      : state.status === "approved" || state.status === "running"
        ? `approved; running ${state.sessionId}`
        : `${state.status} ${state.sessionId}`;
  return oneLine(
    `${phase} · ${state.approvals}/${quorum} approval(s) · ${timeLeftText(state.expiresAt, now)} left`,
  );
}

/** A stream the progress is written to (stderr). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * Rewrites one line in place every second on a terminal; elsewhere (CI logs) prints a plain line when something
 * changes and otherwise once a minute.
 */
export class ApprovalProgress {
  private state: ProgressState | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastPlain = "";
  private lastPlainAt = 0;

  constructor(
    private readonly stream: ProgressStream,
    private readonly now: () => number = Date.now,
  ) {}

  /** Shows the new state (and starts the countdown on a terminal). */
  update(state: ProgressState): void {
    this.state = state;
    if (this.stream.isTTY === true) {
      this.draw();
      if (this.timer === undefined) {
        this.timer = setInterval(() => this.draw(), 1_000);
        this.timer.unref();
      }
      return;
    }
    const key = `${state.status}/${state.approvals}`;
    if (key !== this.lastPlain || this.now() - this.lastPlainAt >= 60_000) {
      this.stream.write(`${progressText(state, this.now())}\n`);
      this.lastPlain = key;
      this.lastPlainAt = this.now();
    }
  }

  /** Ends the line (a terminal keeps the last state on screen). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.stream.isTTY === true && this.state !== undefined) this.stream.write("\n");
  }

  private draw(): void {
    if (this.state !== undefined) this.stream.write(`\r\u001b[2K${progressText(this.state, this.now())}`);
  }
}
