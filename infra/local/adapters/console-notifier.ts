// Notifier printing one line per approval request to the console: who asks, until when, and the link (no SQL).

import { type ApprovalNotice, noticeHeadline, shown } from "#shared/approval/notice.ts";
import type { Notifier } from "#shared/ports.ts";

/** The console line for a notice. */
export function consoleLine(notice: ApprovalNotice): string {
  if (notice.outcome !== undefined)
    return `approval ${notice.outcome.status} · ${noticeHeadline(notice)} · ${notice.link}`;
  const reasons = notice.reasons.length === 1 ? "1 risk reason" : `${notice.reasons.length} risk reasons`;
  return `approval needed · ${shown(notice.requester.label)} · ${reasons} · expires ${shown(notice.expiresAt)} · ${notice.link}`;
}

/**
 * Writes one line per notice (to stdout by default). It is a notification channel, not a log: the opaque link is
 * printed so a local approver can open it; it grants nothing without signing in.
 */
export class ConsoleNotifier implements Notifier {
  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {}

  async notify(notice: ApprovalNotice): Promise<void> {
    this.write(consoleLine(notice));
  }
}
