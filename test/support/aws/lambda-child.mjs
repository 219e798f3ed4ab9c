// One Lambda execution environment: imports the bundled handler as the Node.js runtime does, then serves invocations.

import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const root = process.env.LAMBDA_TASK_ROOT ?? ".";
let handler;
try {
  const module = await import(pathToFileURL(join(root, "index.mjs")).href);
  handler = module.handler;
  if (typeof handler !== "function") throw new TypeError("the bundle exports no handler function");
  process.send?.({ type: "ready" });
} catch (error) {
  process.send?.({
    type: "init-error",
    errorType: error instanceof Error ? error.name : "Error",
    errorMessage: error instanceof Error ? error.message : String(error),
  });
  process.exit(1);
}

process.on("message", async (message) => {
  if (message?.type !== "invoke") return;
  const deadline = message.deadline;
  process.env._X_AMZN_TRACE_ID = `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replace(/-/g, "").slice(0, 24)};Parent=${randomUUID().replace(/-/g, "").slice(0, 16)};Sampled=0`;
  const context = {
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: "$LATEST",
    invokedFunctionArn: message.functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: message.requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await handler(message.event, context);
    process.send?.({
      type: "result",
      id: message.id,
      result: result === undefined ? null : JSON.stringify(result),
    });
  } catch (error) {
    process.send?.({
      type: "error",
      id: message.id,
      errorType: error instanceof Error ? error.name : "Error",
      errorMessage: error instanceof Error ? error.message : String(error),
    });
  }
});
