// SNS stand-in (Query protocol): Publish to the template's topics, messages kept for the test to read.
// Pinned to the SNS API reference: Publish (TopicArn, Subject ≤ 100 ASCII characters, Message ≤ 256 KB), NotFound for an
// unknown topic, and for a KMS-encrypted topic the publisher also needs kms:GenerateDataKey and kms:Decrypt on its key.

import { randomUUID } from "node:crypto";
import type { LoopbackService, ServiceCall, WireResponse } from "./service.ts";
import { ServiceError } from "./service.ts";
import type { ResolvedStack } from "./template.ts";

/** One published message. */
export interface PublishedMessage {
  readonly topicArn: string;
  readonly subject: string | undefined;
  readonly message: string;
  readonly caller: string;
}

/** The SNS stand-in. */
export class SnsStandIn implements LoopbackService {
  readonly signingName = "sns";
  readonly protocol = "awsQuery" as const;
  readonly published: PublishedMessage[] = [];
  private readonly topics = new Map<string, { kmsKey: string | undefined }>();
  /** How many next publishes fail with ThrottledException (tests inject throttling). */
  throttleNext = 0;

  constructor(stack: ResolvedStack) {
    for (const resource of stack.ofType("AWS::SNS::Topic")) {
      this.topics.set(stack.ref(resource.logicalId), {
        kmsKey: resource.properties.KmsMasterKeyId as string | undefined,
      });
    }
  }

  async handle(call: ServiceCall): Promise<WireResponse> {
    const form = new URLSearchParams(call.request.body.toString("utf8"));
    const action = form.get("Action") ?? "";
    call.operation(action);
    if (action !== "Publish")
      throw new ServiceError(400, "InvalidAction", `the stand-in does not implement ${action}`);
    const topicArn = form.get("TopicArn") ?? "";
    const topic = this.topics.get(topicArn);
    if (topic === undefined) throw new ServiceError(404, "NotFound", "Topic does not exist");
    call.authorize("sns:Publish", topicArn);
    if (topic.kmsKey !== undefined) {
      call.authorize("kms:GenerateDataKey", topic.kmsKey, { "kms:ViaService": "sns" });
      call.authorize("kms:Decrypt", topic.kmsKey, { "kms:ViaService": "sns" });
    }
    if (this.throttleNext > 0) {
      this.throttleNext--;
      throw new ServiceError(400, "Throttling", "Rate exceeded");
    }
    const message = form.get("Message") ?? "";
    const subject = form.get("Subject") ?? undefined;
    if (message.length === 0)
      throw new ServiceError(400, "InvalidParameter", "Invalid parameter: Empty message");
    if (Buffer.byteLength(message) > 256 * 1024)
      throw new ServiceError(400, "InvalidParameter", "Invalid parameter: Message too long");
    if (subject !== undefined && (subject.length > 100 || !/^[\x20-\x7e]*$/.test(subject)))
      throw new ServiceError(400, "InvalidParameter", "Invalid parameter: Subject");
    this.published.push({ topicArn, subject, message, caller: call.caller });
    const id = randomUUID();
    return {
      status: 200,
      headers: { "content-type": "text/xml" },
      body: `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${id}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
    };
  }
}
