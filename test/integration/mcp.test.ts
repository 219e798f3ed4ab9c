// `phigate mcp` driven by the MCP SDK's own client over stdio, against a real local gateway: tools, a masked query,
// the approval round trip, a denied statement, a token the gateway refuses.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decide, RAW_SSN, RISKY_SMALL_SQL, rawSsns } from "#test/support/approvals.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

async function connect(gw: TestGateway, token: string): Promise<Client> {
  const client = new Client({ name: "phigate-test", version: "1.0.0" });
  await client.connect(
    new StdioClientTransport({
      command: "node",
      args: ["bin/phigate.mjs", "mcp"],
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        PHIGATE_URL: gw.url,
        PHIGATE_TOKEN: token,
      },
      stderr: "pipe",
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

describe("phigate mcp over stdio", () => {
  let gw: TestGateway;
  let client: Client;
  let ssns: string[];

  beforeAll(async () => {
    gw = await startTestGateway();
    client = await connect(gw, await gw.token(NIGHTLY));
    ssns = await rawSsns(gw, 50);
  });
  afterAll(async () => {
    await client?.close();
    await gw?.close();
  });

  it("lists the four tools, whose descriptions say what is masked and that protected values are opaque", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      "describe",
      "explain_decision",
      "query",
      "wait_for_approval",
    ]);
    const query = tools.find((t) => t.name === "query");
    expect(query?.description).toMatch(/Protected values are opaque/);
    expect(query?.description).toMatch(/approval cannot unlock it/);
    expect(Object.keys(query?.inputSchema.properties ?? {}).sort()).toEqual(["params", "purpose", "sql"]);
    expect(client.getInstructions()).toMatch(/do not rewrite the statement/);
  });

  it("returns a masked result as a table with the session id and the masking of each column", async () => {
    const result = await call(client, "query", {
      sql: "SELECT id, ssn, dob FROM patients WHERE id BETWEEN 1 AND $1 ORDER BY id",
      params: [3],
    });
    expect(result.isError).toBe(false);
    const body = text(result);
    expect(body).toMatch(/^Session ses_\w+: 3 row\(s\)\./);
    expect(body).toContain("- ssn: redact (rule public.patients.ssn)");
    expect(body).toContain("| 1 | [REDACTED] |");
    expect(result.structuredContent).toMatchObject({ status: "completed", rowCount: 3, rowsShown: 3 });
    for (const ssn of ssns) expect(JSON.stringify(result)).not.toContain(ssn);
  });

  it("answers a risky statement with the approval and its link at once, then waits for the approver's decision", async () => {
    const pending = await call(client, "query", {
      sql: RISKY_SMALL_SQL,
      params: ["1%"],
      purpose: "mcp test",
    });
    expect(pending.isError).toBe(false);
    const structured = pending.structuredContent as {
      status: string;
      sessionId: string;
      approvalId: string;
      link: string;
    };
    expect(structured.status).toBe("pending_approval");
    expect(structured.link).toBe(`${gw.url}/approvals/${structured.approvalId}`);
    expect(text(pending)).toMatch(/many-phi-columns/);
    const still = await call(client, "wait_for_approval", { sessionId: structured.sessionId, seconds: 0 });
    expect(still.structuredContent).toMatchObject({ status: "pending_approval", approvals: 0, quorum: 1 });
    const alice = await gw.token("alice", { groups: ["phi-approvers"] });
    expect((await decide(gw, alice, structured.approvalId, { decision: "approve" })).status).toBe(200);
    const done = await call(client, "wait_for_approval", { approvalId: structured.approvalId, seconds: 60 });
    expect(done.isError).toBe(false);
    expect(done.structuredContent).toMatchObject({
      status: "completed",
      sessionId: structured.sessionId,
      rowCount: 20,
    });
    expect(text(done)).toContain("[REDACTED]");
    expect(JSON.stringify(done)).not.toMatch(RAW_SSN);
  });

  it("reports a denied statement as an error with the policy's reason, and explains the decision without running", async () => {
    const denied = await call(client, "query", { sql: "SELECT substr(ssn, 1, 3) FROM patients LIMIT 1" });
    expect(denied.isError).toBe(true);
    expect(text(denied)).toMatch(
      /^policy_denied: protected column public\.patients\.ssn is used in a function \(substr\)/,
    );
    expect(text(denied)).toMatch(/do not rewrite the statement/);
    const explained = await call(client, "explain_decision", {
      sql: "SELECT substr(ssn, 1, 3) FROM patients LIMIT 1",
    });
    expect(explained.isError).toBe(false);
    expect(explained.structuredContent).toMatchObject({ decision: "deny" });
    expect(text(explained)).toMatch(/^Decision: denied/);
    const allowed = await call(client, "explain_decision", { sql: "SELECT id, mrn FROM patients LIMIT 5" });
    expect(text(allowed)).toMatch(/^Decision: allowed/);
    expect(text(allowed)).toContain("- mrn: tokenize (rule public.patients.mrn)");
  });

  it("reports a token the gateway refuses as an error that says retrying will not help", async () => {
    const refused = await connect(gw, `${(await gw.token(NIGHTLY)).slice(0, -4)}AAAA`);
    try {
      const result = await call(refused, "query", { sql: "SELECT id FROM encounters LIMIT 1" });
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/^unauthorized: /);
      expect(text(result)).toMatch(/Retrying will not help/);
    } finally {
      await refused.close();
    }
  });
});
