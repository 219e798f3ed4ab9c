// A per-deployment suffix for names that must be known before their resource exists (no reference cycle).

import { Aws, Fn } from "aws-cdk-lib";

/**
 * The first group of the stack id's UUID (8 hex characters). It is fixed for the life of a stack and new when the
 * stack is deleted and created again, so a name built with it never collides with a retained resource of an earlier
 * deployment (a fixed name would make the re-creation fail with "already exists").
 */
export function stackSuffix(): string {
  return Fn.select(0, Fn.split("-", Fn.select(2, Fn.split("/", Aws.STACK_ID))));
}
