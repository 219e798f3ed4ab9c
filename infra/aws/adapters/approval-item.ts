// The approvals table's item shape: an ApprovalState as native DynamoDB attributes, plus the keys conditions need.

import type { AttributeValue } from "@aws-sdk/client-dynamodb";
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

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });
const nullable = (value: string | null): AttributeValue => (value === null ? { NULL: true } : { S: value });

/** One decision as a map attribute. */
export function decisionAttribute(d: ApprovalDecisionEntry): AttributeValue {
  return {
    M: {
      approver: s(d.approver),
      approverKey: s(d.approverKey),
      issuer: s(d.issuer),
      subject: s(d.subject),
      decision: s(d.decision),
      at: s(d.at),
      comment: nullable(d.comment),
      binding: s(d.binding),
      via: s(d.via),
    },
  };
}

/**
 * The item of an approval. Raw parameters are kept as JSON text (`params`), not as numbers: DynamoDB numbers would
 * round-trip a JavaScript value beyond 2^53 differently. `expiresAtMs` makes the expiry comparable in a condition;
 * `approverKeys` (a string set, absent until the first decision) makes "this approver has not decided" one
 * `contains` check; `openPk` (absent once closed) puts the item in the open index.
 */
export function toItem(state: ApprovalState): Item {
  const item: Item = {
    ...approvalKey(state.approvalId),
    schema: s(state.schema),
    approvalId: s(state.approvalId),
    sessionId: s(state.sessionId),
    version: n(state.version),
    status: s(state.status),
    createdAt: s(state.createdAt),
    updatedAt: s(state.updatedAt),
    expiresAt: s(state.expiresAt),
    expiresAtMs: n(Date.parse(state.expiresAt)),
    quorum: n(state.quorum),
    binding: s(state.binding),
    requester: {
      M: {
        key: s(state.requester.key),
        issuer: s(state.requester.issuer),
        subject: s(state.requester.subject),
      },
    },
    reasons: { L: state.reasons.map(s) },
    params: state.params === null ? { NULL: true } : s(JSON.stringify(state.params)),
    decisions: { L: state.decisions.map(decisionAttribute) },
    taskToken: nullable(state.taskToken),
    notifiedAt: nullable(state.notifiedAt),
    decidedAt: nullable(state.decidedAt),
    closedAt: nullable(state.closedAt),
  };
  if (state.decisions.length > 0) item.approverKeys = { SS: state.decisions.map((d) => d.approverKey) };
  if (state.closedAt === null) item.openPk = s(OPEN_PARTITION);
  return item;
}

function plain(value: AttributeValue | undefined): unknown {
  if (value === undefined) return undefined;
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.NULL !== undefined) return null;
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.L !== undefined) return value.L.map(plain);
  if (value.M !== undefined)
    return Object.fromEntries(Object.entries(value.M).map(([k, v]) => [k, plain(v)]));
  return undefined;
}

/** Reads an item back into a validated `ApprovalState` (the bookkeeping attributes are dropped). */
export function fromItem(item: Item): ApprovalState {
  const params = plain(item.params);
  return approvalStateSchema.parse({
    schema: plain(item.schema),
    approvalId: plain(item.approvalId),
    sessionId: plain(item.sessionId),
    version: plain(item.version),
    status: plain(item.status),
    createdAt: plain(item.createdAt),
    updatedAt: plain(item.updatedAt),
    expiresAt: plain(item.expiresAt),
    quorum: plain(item.quorum),
    binding: plain(item.binding),
    requester: plain(item.requester),
    reasons: plain(item.reasons),
    params: typeof params === "string" ? JSON.parse(params) : null,
    decisions: plain(item.decisions),
    taskToken: plain(item.taskToken),
    notifiedAt: plain(item.notifiedAt),
    decidedAt: plain(item.decidedAt),
    closedAt: plain(item.closedAt),
  });
}
