// The stored approval request: who asked, what it is bound to, who decided, and the raw parameters until they are spent.

import * as z from "zod";
import { SESSION_ID_PATTERN } from "#shared/ids.ts";

/** Schema identifier stored in every approval item. */
export const APPROVAL_STATE_SCHEMA = "phigate.approval/v1";

/** Approval ids: `apr_` + 26 Crockford base32 characters (130 random bits): unguessable, safe in paths and URLs. */
export const APPROVAL_ID_PATTERN = /^apr_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Statuses of an approval request. `pending` is the only one that accepts decisions. */
export const approvalStatusSchema = z.enum([
  "pending",
  "approved",
  "denied",
  "expired",
  "executed",
  "failed",
]);

/** An approval status. */
export type ApprovalStatus = z.infer<typeof approvalStatusSchema>;

const isoTime = () => z.iso.datetime();
const sha256Hex = () => z.string().regex(/^[0-9a-f]{64}$/);
const scalar = () => z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** One approver's decision as the approval keeps it (built at first use: functions that never read one skip it). */
export const approvalDecisionEntrySchema = z.lazy(() =>
  z.object({
    /** A human label (email, username or subject). */
    approver: z.string(),
    approverKey: z.string(),
    issuer: z.string(),
    subject: z.string(),
    decision: z.enum(["approve", "deny"]),
    at: isoTime(),
    comment: z.string().nullable(),
    /** The binding digest the approver was shown. */
    binding: sha256Hex(),
    /** Where the decision was made: the signed-in page or the API with a bearer token. */
    via: z.enum(["page", "api"]),
  }),
);

/** One approver's decision. */
export type ApprovalDecisionEntry = z.infer<typeof approvalDecisionEntrySchema>;

/** The stored approval request (built at first use, like the decision entry). */
export const approvalStateSchema = z.lazy(() =>
  z.object({
    schema: z.literal(APPROVAL_STATE_SCHEMA),
    approvalId: z.string().regex(APPROVAL_ID_PATTERN),
    sessionId: z.string().regex(SESSION_ID_PATTERN),
    /** 1 when created, +1 per write (the condition of every conditional write). */
    version: z.number().int().positive(),
    status: approvalStatusSchema,
    createdAt: isoTime(),
    updatedAt: isoTime(),
    expiresAt: isoTime(),
    quorum: z.number().int().positive(),
    /** SHA-256 over the canonical SQL text, the keyed parameter digests and the requester key. */
    binding: sha256Hex(),
    requester: z.object({ key: z.string(), issuer: z.string(), subject: z.string() }),
    reasons: z.array(z.string()),
    /** The raw parameters the recorded statement runs with (the session record keeps only keyed digests); null once erased. */
    params: z.array(z.union([scalar(), z.array(scalar())])).nullable(),
    decisions: z.array(approvalDecisionEntrySchema),
    /** The workflow's current task token: kept here, never sent to anyone (approvers get the opaque approval id). */
    taskToken: z.string().min(1).max(2048).nullable(),
    notifiedAt: isoTime().nullable(),
    decidedAt: isoTime().nullable(),
    closedAt: isoTime().nullable(),
  }),
);

/** The stored approval request. */
export type ApprovalState = z.infer<typeof approvalStateSchema>;
