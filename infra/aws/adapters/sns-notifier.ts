// Notifier on SNS: one publish per approval request to the approvers' topic (email subscriptions), text only.

import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { type ApprovalNotice, noticeText, shown, stripControls } from "#shared/approval/notice.ts";
import { UnavailableError } from "#shared/errors.ts";
import type { Notifier } from "#shared/ports.ts";

/** Options of the notifier. */
export interface SnsNotifierOptions {
  readonly client: SNSClient;
  readonly topicArn: string;
}

/** SNS subjects: ASCII, no line breaks, under 100 characters. */
export function noticeSubject(notice: ApprovalNotice): string {
  const what = notice.outcome === undefined ? "approval requested by" : `approval ${notice.outcome.status}:`;
  const ascii = stripControls(`phigate: ${what} ${shown(notice.requester.label)}`).replace(
    /[^\x20-\x7e]/g,
    "?",
  );
  return ascii.length <= 99 ? ascii : `${ascii.slice(0, 96)}...`;
}

/**
 * Publishes the same plain text every channel sends (`noticeText`): requester, CI claims, reasons, quorum, expiry
 * and the opaque approval link. The notice carries no SQL, purpose, parameters, rows or task token, so neither does
 * the message (and nothing here logs it).
 */
export class SnsNotifier implements Notifier {
  constructor(private readonly options: SnsNotifierOptions) {}

  async notify(notice: ApprovalNotice): Promise<void> {
    try {
      await this.options.client.send(
        new PublishCommand({
          TopicArn: this.options.topicArn,
          Subject: noticeSubject(notice),
          Message: noticeText(notice).join("\n"),
        }),
      );
    } catch (error) {
      throw new UnavailableError("workflow_unavailable", "the approvers could not be notified", {
        cause: error,
      });
    }
  }
}
