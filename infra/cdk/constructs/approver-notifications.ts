// The approvers' SNS topic: KMS-encrypted, TLS-only publishing, one email subscription per address from context.

import type { IKey } from "aws-cdk-lib/aws-kms";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";

/** What the topic is built from. */
export interface ApproverNotificationsProps {
  readonly dataKey: IKey;
  /** Addresses subscribed by email (each must confirm the subscription SNS mails it). */
  readonly emails: readonly string[];
}

/** Where `notify-approvers` publishes: the message holds the opaque approval link, never SQL, PHI or a token. */
export class ApproverNotifications extends Construct {
  readonly topic: Topic;

  constructor(scope: Construct, id: string, props: ApproverNotificationsProps) {
    super(scope, id);
    this.topic = new Topic(this, "Topic", {
      displayName: "phigate approvals",
      masterKey: props.dataKey,
      enforceSSL: true,
    });
    for (const email of props.emails) this.topic.addSubscription(new EmailSubscription(email));
  }
}
