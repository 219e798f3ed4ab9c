// The GatewayClient port over the core itself, for a caller already authenticated: the gateway's remote MCP endpoint.

import { sha256Hex } from "#shared/crypto/digest.ts";
import {
  type GatewayAnswer,
  type GatewayClient,
  GatewayTransportError,
  type QueryRequestBody,
  type ResultStream,
} from "#shared/gateway-client/gateway-client.ts";
import { errorResponse } from "#shared/http/error-response.ts";
import { queryRequestOf } from "#shared/http/handlers/post-query.ts";
import { ReadSlots } from "#shared/http/read-slots.ts";
import type { Principal } from "#shared/identity/principal.ts";
import type { QueryDeps } from "#shared/query/deps.ts";
import { describeCatalog } from "#shared/query/describe-catalog.ts";
import { submitQuery } from "#shared/query/submit-query.ts";
import { JsonText, leadingElements, stringifyJson, textOf } from "#shared/serialized-json.ts";
import type { RequestContext } from "#shared/sessions/new-record.ts";
import { storedRows } from "#shared/sessions/result-format.ts";
import { getSession, MAX_WAIT_SECONDS, visibleRecord } from "#shared/sessions/session-view.ts";

/**
 * Stored results read at once by every remote MCP caller of this process, and how many reads may wait: a read holds
 * the whole stored object, so their number bounds what these reads take (the forty-first outside attack ended the
 * process with 45 concurrent ones). A read past both is refused, as a transport failure the tool reports.
 */
const resultReads = new ReadSlots(4, 64);

/** `rows`, with `release` called once they are read to the end or left (a `for await` that breaks returns them). */
async function* heldUntilDone<T>(rows: AsyncIterable<T>, release: () => void): AsyncGenerator<T> {
  try {
    yield* rows;
  } finally {
    release();
  }
}

/** Who calls, as the route that received the request authenticated them. */
export interface CoreCaller {
  readonly principal: Principal;
  readonly client: RequestContext["client"];
}

/**
 * An answer as a caller of the HTTP API would read it (the body as JSON, so both doors see the same values). Made as
 * the reply is: a result's rows are written from their text and parsed once.
 */
function answer(status: number, body: unknown): GatewayAnswer {
  return { status, body: JSON.parse(stringifyJson(body)) as unknown };
}

/**
 * `result` with its inline rows cut after the first whose running length as JSON passes `maxChars` (the rows' text
 * is scanned that far, never parsed past it); `rowCount` and `truncated` stay the result's.
 */
export function cutRows<T extends { readonly rows?: unknown }>(
  result: T,
  maxChars: number | undefined,
  maxRows: number = Number.POSITIVE_INFINITY,
): T {
  if (maxChars === undefined) return result;
  const text = textOf(result.rows);
  if (text === undefined || text.length <= maxChars) return result;
  return { ...result, rows: new JsonText(leadingElements(text, maxChars, maxRows)) };
}

/**
 * A {@link GatewayClient} that calls the core's use cases in-process for one authenticated caller: `POST /v1/queries`
 * is `submitQuery` after the route's own validation, `GET /v1/sessions/{id}` is `getSession`, `GET /v1/catalog` is
 * `describeCatalog`, and a failure becomes the answer the route would give (the same error mapping). So identity,
 * policy, masking, approvals and records are exactly those of the HTTP API; only the transport differs.
 */
export class CoreGatewayClient implements GatewayClient {
  /** `resultUrl` → session id, for the results this client answered (a large result is read from its record). */
  private readonly results = new Map<string, string>();

  /**
   * @param options.inlineRowChars - inline rows past the first whose running length as JSON passes this are left out
   *   of an answer (the MCP tools show no more); without it, every row is answered.
   * @param options.inlineRows - and, of a result cut so, at most this many rows.
   */
  constructor(
    private readonly deps: QueryDeps,
    private readonly caller: CoreCaller,
    private readonly options: { readonly inlineRowChars?: number; readonly inlineRows?: number } = {},
  ) {}

  postQuery(body: QueryRequestBody): Promise<GatewayAnswer> {
    return this.call(async () => {
      const context: RequestContext = { ...this.caller, idempotencyKey: null };
      const outcome = await submitQuery(this.deps, context, queryRequestOf(body));
      if (outcome.kind !== "completed")
        return answer(outcome.kind === "pending_approval" ? 202 : 200, outcome.body);
      this.remember(outcome.body.sessionId, outcome.body);
      return answer(200, cutRows(outcome.body, this.options.inlineRowChars, this.options.inlineRows));
    });
  }

  getSession(sessionId: string, waitSeconds: number): Promise<GatewayAnswer> {
    return this.call(async () => {
      const wait = Math.max(0, Math.min(MAX_WAIT_SECONDS, Math.floor(waitSeconds)));
      const view = await getSession(this.deps, this.caller.principal, sessionId, wait);
      if (view.result === undefined) return answer(200, view);
      this.remember(view.sessionId, view.result);
      return answer(200, {
        ...view,
        result: cutRows(view.result, this.options.inlineRowChars, this.options.inlineRows),
      });
    });
  }

  describe(): Promise<GatewayAnswer> {
    return this.call(async () => answer(200, await describeCatalog(this.deps, this.caller.principal)));
  }

  /**
   * Reads a large result from the session's stored object (never over HTTP): only a result this client answered, of a
   * session the caller may still see, whose bytes still have the recorded SHA-256.
   */
  async openResult(url: string, expectedSha256: string | undefined): Promise<ResultStream> {
    const sessionId = this.results.get(url);
    if (sessionId === undefined)
      throw new GatewayTransportError("download_failed", "not a result this endpoint answered");
    const { record } = await visibleRecord(this.deps, this.caller.principal, sessionId);
    const stored = record.result;
    if (stored === null || (expectedSha256 !== undefined && stored.object.sha256 !== expectedSha256))
      throw new GatewayTransportError("bad_result", "the session's stored result is not the one answered");
    const release = await resultReads.acquire();
    if (release === undefined)
      throw new GatewayTransportError(
        "download_failed",
        "too many stored results are being read; retry shortly",
      );
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.deps.objects.get(stored.object.key);
      if (bytes === undefined)
        throw new GatewayTransportError("download_failed", "the stored result is no longer available");
      if (sha256Hex(bytes) !== stored.object.sha256)
        throw new GatewayTransportError(
          "digest_mismatch",
          "the stored result does not match its recorded digest",
        );
    } catch (error) {
      release();
      throw error;
    }
    return { columns: stored.columns, rows: heldUntilDone(storedRows(bytes), release) };
  }

  approvalLink(approvalId: string): string {
    return `${this.deps.publicUrl()}/approvals/${encodeURIComponent(approvalId)}`;
  }

  private remember(sessionId: string, result: { readonly resultUrl?: string }): void {
    if (result.resultUrl !== undefined) this.results.set(result.resultUrl, sessionId);
  }

  private async call(work: () => Promise<GatewayAnswer>): Promise<GatewayAnswer> {
    try {
      return await work();
    } catch (error) {
      const response = errorResponse(error, this.deps.logger);
      return { status: response.status, body: (await response.json()) as unknown };
    }
  }
}
