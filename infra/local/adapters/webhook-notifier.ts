// Notifier posting a Slack-compatible `{"text": ...}` to a webhook; a failure is logged, never fatal.

import { type ApprovalNotice, webhookText } from "#shared/approval/notice.ts";
import { errorFields, type Logger } from "#shared/log.ts";
import type { Notifier } from "#shared/ports.ts";

/** Posts to `PHIGATE_APPROVAL_WEBHOOK_URL` with a short timeout; the URL (often a secret) is never logged. */
export class WebhookNotifier implements Notifier {
  constructor(
    private readonly options: { readonly url: string; readonly logger: Logger; readonly timeoutMs?: number },
  ) {}

  async notify(notice: ApprovalNotice): Promise<void> {
    try {
      const response = await fetch(this.options.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: webhookText(notice) }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 3_000),
        redirect: "error",
      });
      await response.body?.cancel();
      if (!response.ok) {
        this.options.logger.warn("approval webhook refused the notification", {
          approvalId: notice.approvalId,
          status: response.status,
        });
      }
    } catch (error) {
      this.options.logger.warn("approval webhook unreachable", {
        approvalId: notice.approvalId,
        ...errorFields(error),
      });
    }
  }
}
