// The gateway's HTTP API as the front doors (MCP, the wire-protocol proxy) call it: the port, one method per route.

/** A result column as the gateway describes it (contract §2). */
export interface ResultColumn {
  readonly name: string;
  /** The short PostgreSQL type name of the value returned (`int4`, `text`, `_int4`...); masked values are `text`. */
  readonly type: string;
  readonly masking: { readonly rule: string; readonly strategy: string } | null;
}

/** A downloaded `resultUrl` result: its columns, then its rows as they arrive (the digest checked at the end). */
export interface ResultStream {
  readonly columns: readonly ResultColumn[];
  readonly rows: AsyncIterable<unknown[]>;
}

/** An HTTP answer: its status and parsed JSON body. */
export interface GatewayAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** The request body of `POST /v1/queries` (contract §2). */
export interface QueryRequestBody {
  readonly sql: string;
  readonly params?: readonly unknown[];
  readonly purpose?: string;
  readonly dryRun?: boolean;
}

/** The gateway could not be reached, or a result could not be downloaded (no HTTP answer to show). */
export class GatewayTransportError extends Error {
  override readonly name = "GatewayTransportError";
  constructor(
    readonly code: "unreachable" | "download_failed" | "bad_result" | "digest_mismatch",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * One caller's view of the gateway. Every method is one request of the HTTP API with the caller's token, so every
 * guarantee (identity, policy, masking, approval, records) holds; HTTP errors come back as answers, transport
 * failures throw {@link GatewayTransportError}.
 */
export interface GatewayClient {
  /** `POST /v1/queries`. */
  postQuery(body: QueryRequestBody, signal?: AbortSignal): Promise<GatewayAnswer>;
  /** `GET /v1/sessions/{id}?wait=seconds` (long-polls up to 20 s for a change of status). */
  getSession(sessionId: string, waitSeconds: number, signal?: AbortSignal): Promise<GatewayAnswer>;
  /** `GET /v1/catalog`: the tables and columns the caller may read, with their masking. */
  describe(signal?: AbortSignal): Promise<GatewayAnswer>;
  /** Opens a `resultUrl` (and checks the bytes against `resultSha256` once read). */
  openResult(url: string, expectedSha256: string | undefined): Promise<ResultStream>;
  /** The page an approver opens for an approval id. */
  approvalLink(approvalId: string): string;
}
