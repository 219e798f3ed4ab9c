// The CloudFormation custom resource protocol: run the work, then PUT the outcome to the pre-signed ResponseURL.

/** What CloudFormation sends a custom resource's function. */
export interface CustomResourceEvent {
  readonly RequestType: "Create" | "Update" | "Delete";
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: Readonly<Record<string, unknown>>;
}

/**
 * Runs `work` with the resource's properties and reports SUCCESS (with its data) or FAILED (with the error's message,
 * which must hold no secret) to CloudFormation. The response is sent with an empty content type, as the pre-signed
 * URL was signed for.
 */
export async function respondToCloudFormation(
  event: CustomResourceEvent,
  physicalResourceId: string,
  work: (properties: Readonly<Record<string, unknown>>) => Promise<Record<string, string>>,
): Promise<void> {
  let outcome: { Status: "SUCCESS" | "FAILED"; Reason?: string; Data?: Record<string, string> };
  try {
    outcome = { Status: "SUCCESS", Data: await work(event.ResourceProperties) };
  } catch (error) {
    outcome = {
      Status: "FAILED",
      Reason: (error instanceof Error ? error.message : String(error)).slice(0, 1000),
    };
  }
  const body = JSON.stringify({
    ...outcome,
    PhysicalResourceId: event.PhysicalResourceId ?? physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  const response = await fetch(event.ResponseURL, { method: "PUT", headers: { "content-type": "" }, body });
  if (!response.ok) throw new Error(`CloudFormation did not take the response (${response.status})`);
}
