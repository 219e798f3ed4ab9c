// The GatewayClient port over HTTPS with fetch: the caller's token on every request, refreshed as it ages.

import { CliError } from "#cli/cli-error.ts";
import { openResultDownload } from "#cli/download.ts";
import { TokenKeeper, tokenProblem } from "#cli/token-keeper.ts";
import type { TokenSource } from "#cli/token-source.ts";
import {
  type GatewayAnswer,
  type GatewayClient,
  GatewayTransportError,
  type QueryRequestBody,
  type ResultStream,
} from "#shared/gateway-client/gateway-client.ts";

const TRANSPORT_CODES = new Set(["unreachable", "download_failed", "bad_result", "digest_mismatch"]);

/** A {@link GatewayClient} for the gateway at `url`, authenticating with the tokens of `source`. */
export class HttpGatewayClient implements GatewayClient {
  private readonly tokens: TokenKeeper;

  constructor(
    private readonly url: string,
    source: TokenSource,
  ) {
    this.tokens = new TokenKeeper(source);
  }

  postQuery(body: QueryRequestBody, signal?: AbortSignal): Promise<GatewayAnswer> {
    return this.call("POST", "/v1/queries", body, signal);
  }

  getSession(sessionId: string, waitSeconds: number, signal?: AbortSignal): Promise<GatewayAnswer> {
    const wait = Math.max(0, Math.min(20, Math.floor(waitSeconds)));
    return this.call("GET", `/v1/sessions/${encodeURIComponent(sessionId)}?wait=${wait}`, undefined, signal);
  }

  describe(signal?: AbortSignal): Promise<GatewayAnswer> {
    return this.call("GET", "/v1/catalog", undefined, signal);
  }

  async openResult(url: string, expectedSha256: string | undefined): Promise<ResultStream> {
    try {
      const download = await openResultDownload(url, expectedSha256 === undefined ? {} : { expectedSha256 });
      const rows = download.rows;
      return {
        columns: download.columns,
        rows: (async function* () {
          try {
            yield* rows;
          } catch (error) {
            throw transportError(error);
          }
        })(),
      };
    } catch (error) {
      throw transportError(error);
    }
  }

  approvalLink(approvalId: string): string {
    return `${this.url}/approvals/${encodeURIComponent(approvalId)}`;
  }

  private async call(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<GatewayAnswer> {
    for (let attempt = 0; ; attempt++) {
      let token: string;
      try {
        token = await this.tokens.token();
      } catch (error) {
        return { status: 401, body: { error: tokenProblem(error) } };
      }
      const headers: Record<string, string> = {
        accept: "application/json",
        authorization: `Bearer ${token}`,
      };
      if (body !== undefined) headers["content-type"] = "application/json";
      let response: Response;
      try {
        response = await fetch(`${this.url}${path}`, {
          method,
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          ...(signal === undefined ? {} : { signal }),
        });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw new GatewayTransportError(
          "unreachable",
          `cannot reach ${new URL(this.url).origin} (${(error as Error).message})`,
          { cause: error },
        );
      }
      const text = await response.text();
      if (response.status === 401 && attempt === 0) {
        try {
          if (await this.tokens.renew()) continue;
        } catch (error) {
          return { status: 401, body: { error: tokenProblem(error) } };
        }
      }
      let parsed: unknown;
      try {
        parsed = text === "" ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: response.status, body: parsed };
    }
  }
}

function transportError(error: unknown): unknown {
  if (error instanceof CliError && TRANSPORT_CODES.has(error.code))
    return new GatewayTransportError(error.code as GatewayTransportError["code"], error.message, {
      cause: error,
    });
  return error;
}
