// The payloads tasks receive (the state data, or `{input, taskToken}` for a callback task), validated with zod.

import * as z from "zod";
import { approvalWorkflowInputSchema } from "#shared/approval/approval-workflow.ts";

/** A task handler: state payload in, result out (a Lambda handler on AWS, a function in the local runner). */
export type TaskHandler = (payload: unknown) => Promise<unknown>;

/** What a plain task reads from the state data (other fields pass through untouched). */
export const taskDataSchema = z.looseObject(approvalWorkflowInputSchema.shape);

/** The payload of a callback task. */
export const callbackPayloadSchema = z.strictObject({
  input: taskDataSchema,
  taskToken: z.string().min(1).max(2048),
});

/** The state data a task was given. */
export type TaskData = z.infer<typeof taskDataSchema>;
