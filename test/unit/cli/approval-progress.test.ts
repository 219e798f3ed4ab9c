// The CLI's approval progress: in-place on a terminal, plain lines on change (or each minute) in CI logs.

import { describe, expect, it } from "vitest";
import { ApprovalProgress, progressText, timeLeftText } from "#cli/approval-progress.ts";
import { tokenExpiry } from "#cli/wait-for-approval.ts";

const NOW = Date.parse("2026-11-29T12:00:00Z");
const state = {
  approvalId: "apr_0000000000000000000000000A",
  sessionId: "ses_00000000000000000000000000",
  status: "pending_approval",
  approvals: 1,
  quorum: 2,
  expiresAt: "2026-11-29T13:02:05Z",
};

describe("approval progress", () => {
  it("shows approvals so far of the quorum and the time left", () => {
    expect(progressText(state, NOW)).toBe(
      "waiting for approval apr_0000000000000000000000000A · 1/2 approval(s) · 1:02:05 left",
    );
    expect(timeLeftText("2026-11-29T12:04:09Z", NOW)).toBe("4:09");
    expect(timeLeftText("2026-11-29T11:59:00Z", NOW)).toBe("expired");
    expect(progressText({ ...state, status: "running", approvals: 2 }, NOW)).toMatch(
      /^approved; running ses_/,
    );
  });

  it("prints plain lines only on change (or each minute) when stderr is not a terminal", () => {
    const lines: string[] = [];
    let now = NOW;
    const progress = new ApprovalProgress({ isTTY: false, write: (t) => lines.push(t) }, () => now);
    progress.update(state);
    progress.update(state);
    now += 61_000;
    progress.update(state);
    progress.update({ ...state, approvals: 2, status: "approved" });
    progress.stop();
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line.endsWith("\n")).toBe(true);
      expect(line).not.toContain("\r");
      expect(line).not.toContain("\u001b");
    }
  });

  it("rewrites one line in place on a terminal", () => {
    const writes: string[] = [];
    const progress = new ApprovalProgress({ isTTY: true, write: (t) => writes.push(t) }, () => NOW);
    progress.update(state);
    progress.update({ ...state, approvals: 2 });
    progress.stop();
    expect(writes[0]?.startsWith("\r\u001b[2Kwaiting for approval")).toBe(true);
    expect(writes.at(-1)).toBe("\n");
  });

  it("reads a token's expiry without verifying it", () => {
    const jwt = `e30.${Buffer.from(JSON.stringify({ exp: 1_800_000_000 })).toString("base64url")}.sig`;
    expect(tokenExpiry(jwt)).toBe(1_800_000_000);
    expect(tokenExpiry("not-a-jwt")).toBeUndefined();
  });
});
