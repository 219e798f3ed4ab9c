// A Notifier that tells every channel; only a required channel's failure (the durable one) fails the notification.

import { errorFields, type Logger } from "#shared/log.ts";
import type { Notifier } from "#shared/ports.ts";
import type { ApprovalNotice } from "./notice.ts";

/** One channel and whether its failure must fail the notification. */
export interface NotifierChannel {
  readonly name: string;
  readonly notifier: Notifier;
  readonly required: boolean;
}

/** Notifies every channel in parallel; optional channels' failures are logged. */
export class FanOutNotifier implements Notifier {
  constructor(
    private readonly channels: readonly NotifierChannel[],
    private readonly logger: Logger,
  ) {}

  async notify(notice: ApprovalNotice): Promise<void> {
    const results = await Promise.allSettled(this.channels.map((c) => c.notifier.notify(notice)));
    let failure: unknown;
    results.forEach((result, i) => {
      const channel = this.channels[i];
      if (result.status === "fulfilled" || channel === undefined) return;
      this.logger.warn("approval notification channel failed", {
        approvalId: notice.approvalId,
        channel: channel.name,
        ...errorFields(result.reason),
      });
      if (channel.required) failure ??= result.reason;
    });
    if (failure !== undefined) throw failure;
  }
}
