// Notifier writing each approval notice as an RFC 5322 `.eml` file into DATA_DIR/outbox (what a mail relay would send).

import { join } from "node:path";
import { formatApprovalEmail, type MailAddresses } from "#shared/approval/email-message.ts";
import type { ApprovalNotice } from "#shared/approval/notice.ts";
import type { Clock, Notifier } from "#shared/ports.ts";
import { writeFileAtomic } from "./atomic-file.ts";

/** Writes `<directory>/<time>-<approvalId>.eml` atomically (mode 0600). */
export class OutboxNotifier implements Notifier {
  constructor(
    private readonly options: {
      readonly directory: string;
      readonly addresses: MailAddresses;
      readonly clock: Clock;
    },
  ) {}

  async notify(notice: ApprovalNotice): Promise<void> {
    const at = this.options.clock.now();
    const stamp = at
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d+Z$/, "Z");
    await writeFileAtomic(
      join(this.options.directory, `${stamp}-${notice.approvalId}.eml`),
      formatApprovalEmail(notice, this.options.addresses, at),
    );
  }
}
