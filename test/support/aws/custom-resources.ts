// Custom resources at "deploy": each one's function invoked as CloudFormation invokes it (a Create event with a
// pre-signed ResponseURL), its response read back from a loopback https endpoint standing in for that URL.

import { randomUUID } from "node:crypto";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { LambdaHost } from "./lambda-host.ts";
import type { ResolvedStack } from "./template.ts";
import type { LoopbackCertificate } from "./tls.ts";

/** What a custom resource answered. */
export interface CustomResourceOutcome {
  readonly logicalId: string;
  readonly status: "SUCCESS" | "FAILED";
  readonly reason: string | undefined;
  readonly data: Readonly<Record<string, string>>;
}

/** Creates every custom resource of the template, in template order; answers each one's outcome. */
export async function createCustomResources(
  stack: ResolvedStack,
  lambda: LambdaHost,
  tls: LoopbackCertificate,
): Promise<CustomResourceOutcome[]> {
  const responses = new Map<
    string,
    { Status: "SUCCESS" | "FAILED"; Reason?: string; Data?: Record<string, string> }
  >();
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      responses.set(
        new URL(req.url ?? "/", "https://x").pathname.slice(1),
        JSON.parse(Buffer.concat(chunks).toString("utf8")),
      );
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const outcomes: CustomResourceOutcome[] = [];
  try {
    for (const resource of stack.resources.values()) {
      if (!resource.type.startsWith("Custom::") && resource.type !== "AWS::CloudFormation::CustomResource")
        continue;
      const { ServiceToken, ...properties } = resource.properties as { ServiceToken: string } & Record<
        string,
        unknown
      >;
      const requestId = randomUUID();
      const invoked = await lambda.invoke(
        ServiceToken,
        {
          RequestType: "Create",
          ResponseURL: `${base}/${requestId}`,
          StackId: String(stack.resolve({ Ref: "AWS::StackId" })),
          RequestId: requestId,
          LogicalResourceId: resource.logicalId,
          ResourceType: resource.type,
          ResourceProperties: { ServiceToken, ...properties },
        },
        "cloudformation",
      );
      const response = responses.get(requestId);
      outcomes.push({
        logicalId: resource.logicalId,
        status: response?.Status ?? "FAILED",
        reason:
          response === undefined ? ("error" in invoked ? invoked.cause : "no response") : response.Reason,
        data: response?.Data ?? {},
      });
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return outcomes;
}
