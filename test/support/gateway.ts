// Starts a real local gateway for end-to-end tests: its own DATA_DIR, a copy of the seeded template database,
// the dev IdP, and helpers to mint tokens and call the HTTP API.

import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { inject } from "vitest";
import { type LocalHost, type LocalHostOverrides, startLocalHost } from "#infra/local/compose.ts";
import type { LocalConfig } from "#infra/local/config.ts";
import type { TrustedIssuer } from "#shared/identity/issuers.ts";
import { createJsonLogger } from "#shared/log.ts";

/** The nightly report job's subject in the demo policy. */
export const NIGHTLY = "repo:acme/ehr-reports:ref:refs/heads/main";

/** An HTTP answer. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
  readonly body: any;
}

/** A running gateway and its helpers. */
export interface TestGateway {
  readonly url: string;
  readonly host: LocalHost;
  readonly dataDir: string;
  /** Every log line the gateway wrote (for "no PHI in logs" checks). */
  readonly logs: string[];
  token(
    sub: string,
    options?: { groups?: string[]; claims?: Record<string, string | number | boolean>; ttlSeconds?: number },
  ): Promise<string>;
  request(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string },
  ): Promise<Answer>;
  query(token: string, body: unknown, headers?: Record<string, string>): Promise<Answer>;
  close(): Promise<void>;
}

/** Options of a test gateway. */
export interface TestGatewayOptions extends LocalHostOverrides {
  readonly databaseUrl?: string;
  /** Policy YAML to use instead of policy/demo.yaml. */
  readonly policy?: string;
  readonly mode?: LocalConfig["mode"];
  readonly issuers?: readonly TrustedIssuer[];
  /** Reuse this DATA_DIR (restart tests); it is then not removed on close. */
  readonly dataDir?: string;
  /** Listen on this port (restart tests: the dev IdP's issuer URL, and so every principal key, includes it). */
  readonly port?: number;
}

/** Starts a gateway on 127.0.0.1 (a free port) with a fresh DATA_DIR. */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "phigate-e2e-")));
  if (ownDir && options.databaseUrl === undefined) {
    await cp(inject("pgdataTemplate"), join(dataDir, "pgdata"), { recursive: true });
  }
  let policyPath = resolve("policy/demo.yaml");
  if (options.policy !== undefined) {
    policyPath = join(dataDir, "test-policy.yaml");
    await writeFile(policyPath, options.policy);
  }
  const logs: string[] = [];
  const logger = createJsonLogger({
    service: "phigate-test",
    level: "debug",
    write: (line) => logs.push(line),
  });
  const config: LocalConfig = {
    host: "127.0.0.1",
    port: options.port ?? 0,
    dataDir,
    databaseUrl: options.databaseUrl,
    policyPath,
    mode: options.mode ?? "development",
    issuers: options.issuers ?? [],
    audience: "phigate",
    logLevel: "debug",
    publicUrl: undefined,
  };
  const host = await startLocalHost(config, logger, {
    ...options,
    consoleNotifications: options.consoleNotifications ?? (() => undefined),
  });
  const request: TestGateway["request"] = async (method, path, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    let body: string | undefined = init.raw;
    if (init.body !== undefined) {
      headers["content-type"] ??= "application/json";
      body = JSON.stringify(init.body);
    }
    const response = await fetch(`${host.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, text, body: parsed };
  };
  return {
    url: host.url,
    host,
    dataDir,
    logs,
    request,
    async token(sub, extra = {}) {
      const answer = await request("POST", "/dev-idp/token", { body: { sub, ...extra } });
      if (answer.status !== 200) throw new Error(`dev IdP refused a token: ${answer.text}`);
      return answer.body.access_token as string;
    },
    query: (token, body, headers) =>
      request("POST", "/v1/queries", { token, body, ...(headers === undefined ? {} : { headers }) }),
    async close() {
      await host.close();
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Signs arbitrary claims with the gateway's own dev IdP key (read from its DATA_DIR) — to forge near-valid tokens. */
export async function signWithDevKey(
  gw: TestGateway,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const { importJWK, SignJWT } = await import("jose");
  const jwk = JSON.parse(await readFile(join(gw.dataDir, "keys", "dev-idp-signing.jwk.json"), "utf8"));
  const key = await importJWK({ ...jwk, alg: "ES256" }, "ES256");
  const kid = gw.host.devIdp?.publicJwk.kid;
  return new SignJWT(payload).setProtectedHeader({ alg: "ES256", kid, typ: "JWT", ...header }).sign(key);
}
