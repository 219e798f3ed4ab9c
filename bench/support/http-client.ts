// A lean keep-alive HTTP client for the bench (node:http), so client overhead stays small beside the gateway's.

import { Agent, request } from "node:http";

/** An HTTP answer: status and body text. */
export interface BenchAnswer {
  readonly status: number;
  readonly text: string;
}

/** Posts JSON bodies to one gateway over keep-alive connections. */
export class BenchClient {
  private readonly agent: Agent;
  private readonly base: URL;

  constructor(baseUrl: string, maxSockets = 64) {
    this.base = new URL(baseUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  /** Sends one request and reads the whole answer. */
  send(
    method: "GET" | "POST",
    path: string,
    token: string | undefined,
    body?: unknown,
  ): Promise<BenchAnswer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          agent: this.agent,
          headers: {
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
            ...(payload === undefined
              ? {}
              : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () =>
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
          );
          response.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** A dev IdP token for `sub`. */
  async token(sub: string): Promise<string> {
    const answer = await this.send("POST", "/dev-idp/token", undefined, { sub, ttlSeconds: 3600 });
    if (answer.status !== 200) throw new Error(`dev IdP answered ${answer.status}`);
    return (JSON.parse(answer.text) as { access_token: string }).access_token;
  }

  close(): void {
    this.agent.destroy();
  }
}
