// The SNS part: the approvers' notifier.

import { SNSClient } from "@aws-sdk/client-sns";
import type { NotifierPart } from "#shared/adapters/aws/parts.ts";
import { SnsNotifier } from "#shared/adapters/aws/sns-notifier.ts";

/** Publishes approval notices to the approvers' topic. */
export const notifierPart: NotifierPart = {
  client: () => new SNSClient({}),
  notifier: (client, topicArn) => new SnsNotifier({ client, topicArn }),
};
