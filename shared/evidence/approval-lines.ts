// Derives approvals.jsonl from the chain entries of a range: each approver decision once, where it first appears.

import type { ApprovalLine } from "#shared/evidence/bundle-format.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";

/** Collects approval decisions in chain order; the same decision in later versions of a record is not repeated. */
export class ApprovalLines {
  private readonly seen = new Set<string>();
  readonly lines: ApprovalLine[] = [];
  private bytes = 0;
  /** Whether decisions beyond `maxBytes` of text were dropped (they are then not all in `lines`). */
  overflow = false;

  /** `maxBytes`: the most text collected (a verifier reading a hostile bundle bounds its memory). */
  constructor(private readonly maxBytes = Number.POSITIVE_INFINITY) {}

  /** Adds the decisions a record version carries that were not seen in an earlier entry. */
  add(seq: number, record: SessionRecord): void {
    for (const a of record.approvals) {
      if (this.overflow) return;
      const key = JSON.stringify([record.sessionId, a.approverKey, a.decision, a.at, a.binding]);
      if (this.seen.has(key)) continue;
      this.bytes += key.length + a.approver.length + (a.comment?.length ?? 0) + 300;
      if (this.bytes > this.maxBytes) {
        this.overflow = true;
        return;
      }
      this.seen.add(key);
      this.lines.push({
        sessionId: record.sessionId,
        seq,
        approver: a.approver,
        approverKey: a.approverKey,
        decision: a.decision,
        at: a.at,
        comment: a.comment,
        binding: a.binding,
        requestBinding: record.approval?.binding ?? null,
      });
    }
  }

  /** The file's exact text: one JSON object per line, fields in schema order. */
  text(): string {
    return this.lines.map((line) => `${JSON.stringify(line)}\n`).join("");
  }
}
