// After a `202`, long-polls the session until it ends: the result, or the reason it will not come (denied, expired, failed).

import { CliError, EXIT } from "#cli/cli-error.ts";
import { callJson } from "#cli/client.ts";
import type { ResultBody } from "#cli/format.ts";
import { oneLine } from "#cli/safe-text.ts";
import type { TokenSource } from "#cli/token-source.ts";
import type { ApprovalProgress } from "./approval-progress.ts";

/** The `202` answer (contract §2). */
export interface PendingAnswer {
  readonly sessionId: string;
  readonly status: "pending_approval";
  readonly approval: { readonly id: string; readonly expiresAt: string; readonly reasons: readonly string[] };
}

interface SessionAnswer {
  readonly status: string;
  readonly approval?: { readonly quorum?: number; readonly expiresAt?: string };
  readonly approvals?: readonly { approver: string; decision: string; comment: string | null }[];
  readonly error?: { readonly code: string; readonly message: string };
  readonly result?: Omit<ResultBody, "sessionId">;
}

/** Seconds before expiry at which a refreshable token is replaced. */
const REFRESH_MARGIN_SECONDS = 60;
const MAX_UNREACHABLE = 5;

/** A JWT's `exp` (seconds since the epoch), read without verifying (the gateway verifies). */
export function tokenExpiry(jwt: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as {
      exp?: unknown;
    };
    return typeof payload.exp === "number" ? payload.exp : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps a usable token: a refreshable source (GitHub Actions OIDC, ~5 min tokens) is asked again before expiry. */
class TokenKeeper {
  constructor(
    private readonly source: TokenSource,
    private current: string,
  ) {}

  async token(): Promise<string> {
    const exp = tokenExpiry(this.current);
    if (this.source.refreshable && exp !== undefined && exp - Date.now() / 1000 < REFRESH_MARGIN_SECONDS) {
      this.current = await this.source.token();
    }
    return this.current;
  }

  /** After a 401: a fresh token if the source can give one, else the error stands. */
  async renew(error: CliError): Promise<void> {
    if (!this.source.refreshable) {
      throw new CliError(
        error.code,
        `${error.message} while waiting for approval (a fixed token cannot be refreshed; wait with a fresh one: phigate session ID --wait 20)`,
        EXIT.error,
        error.sessionId,
      );
    }
    this.current = await this.source.token();
  }
}

function denial(view: SessionAnswer): string {
  const deny = view.approvals?.find((a) => a.decision === "deny");
  if (deny === undefined) return "an approver denied this statement";
  return oneLine(`denied by ${deny.approver}${deny.comment === null ? "" : `: ${deny.comment}`}`);
}

/**
 * Reads the pending session once (its quorum), then long-polls `GET /v1/sessions/{id}?wait=20` until it is completed (the result is returned),
 * denied (exit 3), expired (exit 5) or failed (exit 4). Progress goes to `progress`; the token is refreshed when it
 * can be. A gateway briefly unreachable is retried a few times.
 */
export async function waitForApproval(options: {
  readonly url: string;
  readonly pending: PendingAnswer;
  readonly source: TokenSource;
  readonly token: string;
  readonly progress: ApprovalProgress;
}): Promise<ResultBody> {
  const { pending, progress } = options;
  const sessionId = pending.sessionId;
  const keeper = new TokenKeeper(options.source, options.token);
  let unreachable = 0;
  let renewed = false;
  let quorum: number | undefined;
  try {
    let wait = 0;
    for (;;) {
      let view: SessionAnswer;
      try {
        const answer = await callJson(
          `${options.url}/v1/sessions/${encodeURIComponent(sessionId)}?wait=${wait}`,
          { method: "GET", token: await keeper.token(), extraHeadersMs: wait * 1000 },
        );
        wait = 20;
        view = answer.body as SessionAnswer;
        unreachable = 0;
        renewed = false;
      } catch (error) {
        if (!(error instanceof CliError)) throw error;
        if (error.code === "unauthorized" && !renewed) {
          await keeper.renew(error);
          renewed = true;
          continue;
        }
        if (error.code === "unreachable" && ++unreachable <= MAX_UNREACHABLE) {
          await new Promise((resolve) => setTimeout(resolve, 1_000 * unreachable));
          continue;
        }
        throw error;
      }
      quorum = view.approval?.quorum ?? quorum;
      progress.update({
        approvalId: pending.approval.id,
        sessionId,
        status: view.status,
        approvals: (view.approvals ?? []).filter((a) => a.decision === "approve").length,
        quorum,
        expiresAt: view.approval?.expiresAt ?? pending.approval.expiresAt,
      });
      switch (view.status) {
        case "completed":
          if (view.result === undefined)
            throw new CliError("bad_response", "the session has no result", EXIT.error);
          return { sessionId, ...view.result };
        case "denied":
          throw new CliError("approval_denied", denial(view), EXIT.denied, sessionId);
        case "rejected":
          throw new CliError(
            "policy_denied",
            oneLine(view.error?.message ?? "the policy denied this statement"),
            EXIT.denied,
            sessionId,
          );
        case "expired":
          throw new CliError(
            "approval_expired",
            "no approver decided before the request expired",
            EXIT.expired,
            sessionId,
          );
        case "failed":
          throw new CliError(
            oneLine(view.error?.code ?? "failed"),
            oneLine(view.error?.message ?? "the approved statement failed"),
            EXIT.error,
            sessionId,
          );
        default:
          break;
      }
    }
  } finally {
    progress.stop();
  }
}
