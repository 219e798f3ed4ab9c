// The SNS part: the approvers' notifier.

import { SNSClient } from "@aws-sdk/client-sns";
import { SnsNotifier } from "#infra/aws/adapters/sns-notifier.ts";
import type { NotifierPart } from "#infra/aws/parts.ts";

/** Publishes approval notices to the approvers' topic. */
export const notifierPart: NotifierPart = {
  client: () => new SNSClient({}),
  notifier: (client, topicArn) => new SnsNotifier({ client, topicArn }),
};
