// The gateway's remote MCP endpoint (/mcp, Streamable HTTP) driven by the MCP SDK's own client against a real local
// gateway: tools, a masked query (inline and from a stored result), the approval round trip, a denied statement, the
// catalog, and a token the gateway refuses.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decide, RAW_SSN, RISKY_SMALL_SQL, rawSsns } from "#test/support/approvals.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

async function connect(gw: TestGateway, token: string): Promise<Client> {
  const client = new Client({ name: "phigate-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

describe("the remote MCP endpoint /mcp", () => {
  let gw: TestGateway;
  let token: string;
  let client: Client;
  let ssns: string[];

  beforeAll(async () => {
    // A small inline limit, so a larger result is stored and read back from its object.
    gw = await startTestGateway({
      wrapDeps: (deps) => ({ ...deps, results: { pageSize: 500, inlineMaxBytes: 16 * 1024 } }),
    });
    token = await gw.token(NIGHTLY, { ttlSeconds: 3600 });
    client = await connect(gw, token);
    ssns = await rawSsns(gw, 50);
  });
  afterAll(async () => {
    await client?.close();
    await gw?.close();
  });

  it("refuses a batch of several messages, so each tool call is one request against the rate limit (the forty-second outside attack)", async () => {
    const call = (id: number) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "describe", arguments: {} },
    });
    const post = (body: unknown) =>
      fetch(`${gw.url}/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify(body),
      });
    const batch = await post([call(1), call(2)]);
    expect(batch.status).toBe(400);
    expect(await batch.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32600 }, id: null });
    // One message, alone or as a batch of one, is answered.
    for (const body of [call(3), [call(4)]]) {
      const one = await post(body);
      expect(one.status).toBe(200);
      expect(JSON.stringify(await one.json())).toContain('"result"');
    }
  });

  it("lists the four tools, waiting at most as long as a request may last", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      "describe",
      "explain_decision",
      "query",
      "wait_for_approval",
    ]);
    expect(tools.find((t) => t.name === "query")?.description).toMatch(/Protected values are opaque/);
    const wait = tools.find((t) => t.name === "wait_for_approval");
    expect(wait?.inputSchema.properties?.seconds).toMatchObject({ maximum: 20 });
    expect(wait?.description).toMatch(/at most 20\)/);
  });

  it("returns a masked result recorded as the token's caller, inline and from a stored result", async () => {
    const result = await call(client, "query", {
      sql: "SELECT id, ssn, dob FROM patients WHERE id BETWEEN 1 AND $1 ORDER BY id",
      params: [3],
      purpose: "remote mcp test",
    });
    expect(result.isError).toBe(false);
    expect(text(result)).toContain("| 1 | [REDACTED] |");
    expect(result.structuredContent).toMatchObject({ status: "completed", rowCount: 3, rowsShown: 3 });
    for (const ssn of ssns) expect(JSON.stringify(result)).not.toContain(ssn);
    const sessionId = (result.structuredContent as { sessionId: string }).sessionId;
    const view = await gw.request("GET", `/v1/sessions/${sessionId}`, { token });
    expect(view.body).toMatchObject({
      status: "completed",
      principal: { subject: NIGHTLY },
      purpose: "remote mcp test",
      decision: { outcome: "allow" },
    });

    const large = await call(client, "query", {
      sql: "SELECT id, admitted_at, notes FROM encounters WHERE id BETWEEN 1 AND $1 ORDER BY id",
      // Under the demo's bulk-read threshold (1,000 rows by the planner's estimate), above the 16 KiB inline limit.
      params: [900],
    });
    expect(large.isError).toBe(false);
    expect(large.structuredContent).toMatchObject({ status: "completed", rowCount: 900, rowsShown: 100 });
    const largeId = (large.structuredContent as { sessionId: string }).sessionId;
    const stored = await gw.request("GET", `/v1/sessions/${largeId}`, { token });
    expect(stored.body.result.resultUrl).toMatch(/\/objects\//);
    expect(text(large)).toMatch(/\| 100 \| \d{4} \|/);
    // Each read gives its slot back (a process reads four stored results at once): the sixth still reads.
    for (let i = 0; i < 6; i++) {
      const again = await call(client, "wait_for_approval", { sessionId: largeId, seconds: 0 });
      expect(again.structuredContent).toMatchObject({ status: "completed", rowsShown: 100 });
    }
  });

  it("answers a risky statement with its approval and link at once, then returns the result once approved", async () => {
    const pending = await call(client, "query", {
      sql: RISKY_SMALL_SQL,
      params: ["1%"],
      purpose: "mcp test",
    });
    const structured = pending.structuredContent as {
      status: string;
      sessionId: string;
      approvalId: string;
      link: string;
    };
    expect(structured.status).toBe("pending_approval");
    expect(structured.link).toBe(`${gw.url}/approvals/${structured.approvalId}`);
    const still = await call(client, "wait_for_approval", { sessionId: structured.sessionId, seconds: 0 });
    expect(still.structuredContent).toMatchObject({ status: "pending_approval", approvals: 0, quorum: 1 });
    const alice = await gw.token("alice", { groups: ["phi-approvers"] });
    expect((await decide(gw, alice, structured.approvalId, { decision: "approve" })).status).toBe(200);
    let done = await call(client, "wait_for_approval", { sessionId: structured.sessionId, seconds: 20 });
    for (let i = 0; i < 3 && (done.structuredContent as { status: string }).status !== "completed"; i++)
      done = await call(client, "wait_for_approval", { sessionId: structured.sessionId, seconds: 20 });
    expect(done.isError).toBe(false);
    expect(done.structuredContent).toMatchObject({
      status: "completed",
      sessionId: structured.sessionId,
      rowCount: 20,
    });
    expect(text(done)).toContain("[REDACTED]");
    expect(JSON.stringify(done)).not.toMatch(RAW_SSN);
  });

  it("reports a denied statement with the policy's reason, and describes what the caller may read", async () => {
    const denied = await call(client, "query", { sql: "SELECT substr(ssn, 1, 3) FROM patients LIMIT 1" });
    expect(denied.isError).toBe(true);
    expect(text(denied)).toMatch(
      /^policy_denied: protected column public\.patients\.ssn is used in a function/,
    );
    const described = await call(client, "describe", {});
    expect(described.isError).toBe(false);
    expect(text(described)).toMatch(/^As nightly-report \(policy demo\)/);
    expect(text(described)).toMatch(/- ssn text: masked: redact/);
    expect((described.structuredContent as { tables: { name: string }[] }).tables.map((t) => t.name)).toEqual(
      ["encounters", "medications", "patients"],
    );
  });

  it("refuses a token the gateway refuses before any MCP message is read, and a stream it does not hold", async () => {
    await expect(connect(gw, `${token.slice(0, -4)}AAAA`)).rejects.toThrow(/401|unauthorized/i);
    const get = await gw.request("GET", "/mcp", { token, headers: { accept: "text/event-stream" } });
    expect(get.status).toBe(405);
    const anonymous = await gw.request("POST", "/mcp", {
      body: { jsonrpc: "2.0", id: 1, method: "tools/list" },
    });
    expect(anonymous.status).toBe(401);
  });
});
