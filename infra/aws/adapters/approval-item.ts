// The approvals table's item shape: an ApprovalState as native DynamoDB attributes, plus the keys conditions need.

import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import {
  type ApprovalDecisionEntry,
  type ApprovalState,
  approvalStateSchema,
} from "#shared/approval/approval-request.ts";

/** One DynamoDB item. */
export type Item = Record<string, AttributeValue>;

/** Value of the sparse `openPk` attribute: present while an approval is open, the partition of the open index. */
export const OPEN_PARTITION = "open";

/** The global secondary index over open approvals (`openPk` / `createdAt`), for `listOpen`. */
export const OPEN_INDEX = "open-approvals";

/** The table's key of an approval: the same generic `pk` (string) / `sk` (number) schema as the sessions table. */
export function approvalKey(approvalId: string): Item {
  return { pk: { S: `approval#${approvalId}` }, sk: { N: "0" } };
}

/** One decision as a map attribute. */
export function decisionAttribute(d: ApprovalDecisionEntry): AttributeValue {
  return { M: marshall(d) };
}

/**
 * The item of an approval, marshalled by `@aws-sdk/util-dynamodb`. Raw parameters are kept as JSON text
 * (`params`), not as numbers: DynamoDB numbers would round-trip a JavaScript value beyond 2^53 differently.
 * `expiresAtMs` makes the expiry comparable in a condition; `approverKeys` (a string set, absent until the
 * first decision) makes "this approver has not decided" one `contains` check; `openPk` (absent once closed)
 * puts the item in the open index.
 */
export function toItem(state: ApprovalState): Item {
  return {
    ...marshall(
      {
        ...state,
        params: state.params === null ? null : JSON.stringify(state.params),
        expiresAtMs: Date.parse(state.expiresAt),
        ...(state.decisions.length > 0
          ? { approverKeys: new Set(state.decisions.map((d) => d.approverKey)) }
          : {}),
        ...(state.closedAt === null ? { openPk: OPEN_PARTITION } : {}),
      },
      { removeUndefinedValues: false },
    ),
    ...approvalKey(state.approvalId),
  };
}

/** Reads an item back into a validated `ApprovalState` (the bookkeeping attributes are dropped by the schema). */
export function fromItem(item: Item): ApprovalState {
  const {
    pk: _pk,
    sk: _sk,
    expiresAtMs: _ms,
    approverKeys: _keys,
    openPk: _open,
    ...plain
  } = unmarshall(item);
  const params = plain.params;
  return approvalStateSchema.parse({
    ...plain,
    params: typeof params === "string" ? JSON.parse(params) : null,
  });
}
