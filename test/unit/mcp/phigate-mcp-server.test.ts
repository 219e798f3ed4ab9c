// The MCP server over a stand-in gateway client (the SDK's in-memory transport): describe, large results, approval ids.

import { readFile } from "node:fs/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { beforeAll, describe, expect, it } from "vitest";
import type { GatewayAnswer, GatewayClient, ResultStream } from "#shared/gateway-client/gateway-client.ts";
import { principalKey } from "#shared/identity/principal.ts";
import { createPhigateMcpServer, MAX_SHOWN_CHARS } from "#shared/mcp/phigate-mcp-server.ts";
import { describeAccess } from "#shared/policy/describe-access.ts";
import { parsePolicy } from "#shared/policy/load.ts";
import { loadSqlParser } from "#shared/sql/parser.ts";
import { ddlCatalog } from "#test/support/builtins.ts";
import { EHR_SCHEMA_SQL } from "#tools/ehr/schema.ts";

const ISSUER = "http://127.0.0.1:8787/dev-idp";
const COLUMNS = [
  { name: "id", type: "int4", masking: null },
  { name: "ssn", type: "text", masking: { rule: "public.patients.ssn", strategy: "redact" } },
];

/** A gateway client whose answers the test sets; unset routes answer 404. */
function standIn(answers: {
  describe?: GatewayAnswer;
  query?: GatewayAnswer;
  rows?: number;
  /** The stored result's second column, per row (default a redaction). */
  cell?: (row: number) => unknown;
  /** Counts the stored rows read. */
  read?: { rows: number };
}): GatewayClient {
  const notFound = { status: 404, body: { error: { code: "not_found", message: "no such route" } } };
  return {
    postQuery: async () => answers.query ?? notFound,
    getSession: async () => notFound,
    describe: async () => answers.describe ?? notFound,
    openResult: async (): Promise<ResultStream> => ({
      columns: COLUMNS,
      rows: (async function* () {
        for (let i = 1; i <= (answers.rows ?? 0); i++) {
          if (answers.read !== undefined) answers.read.rows++;
          yield [i, answers.cell?.(i) ?? "[REDACTED]"];
        }
      })(),
    }),
    approvalLink: (id) => `https://phigate.example/approvals/${id}`,
  };
}

async function session(client: GatewayClient): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await createPhigateMcpServer(client, { version: "0.0.0-test", maxRows: 100 }).connect(serverSide);
  const mcp = new Client({ name: "test", version: "1.0.0" });
  await mcp.connect(clientSide);
  return mcp;
}

async function call(mcp: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await mcp.callTool({ name, arguments: args })) as CallToolResult;
}

const textOf = (r: CallToolResult): string =>
  r.content.map((c) => (c.type === "text" ? c.text : "")).join("");

let catalogBody: unknown;

beforeAll(async () => {
  await loadSqlParser();
  const catalog = ddlCatalog(`${EHR_SCHEMA_SQL}\nCREATE TABLE secrets (id integer, payload text);`);
  const policy = parsePolicy(await readFile("policy/demo.yaml", "utf8"), "policy/demo.yaml");
  const subject = "repo:acme/ehr-reports:ref:refs/heads/main";
  catalogBody = describeAccess(
    policy,
    {
      issuer: ISSUER,
      subject,
      key: principalKey(ISSUER, subject),
      audience: ["phigate"],
      groups: [],
      claims: {},
      expiresAt: 0,
    },
    catalog,
    { devIssuer: ISSUER },
  );
});

describe("the MCP server's tools", () => {
  it("describe renders the core's description: each column's masking and lookups, no ungranted table", async () => {
    const mcp = await session(standIn({ describe: { status: 200, body: catalogBody } }));
    const result = await call(mcp, "describe");
    const text = textOf(result);
    expect(result.isError).toBe(false);
    expect(text).toMatch(/^As nightly-report \(policy demo\) you may read the tables below/);
    expect(text).toContain("public.patients (table)");
    expect(text).toContain("- ssn text: masked: redact, keeps nothing");
    expect(text).toContain("equality lookups need an approver");
    expect(text).toContain("- mrn text: masked: tokenize, keeps equality only (a token with prefix mrn");
    expect(text).toContain("- notes text: free text: ssn, phone, email, mrn, date found in it are replaced");
    expect(text).not.toContain("secrets");
  });

  it("describe says so when the gateway has no catalog route", async () => {
    const result = await call(await session(standIn({})), "describe");
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^describe_unavailable: /);
  });

  /** A completed statement of 250 rows answered with a `resultUrl`. */
  const largeBody = {
    sessionId: "ses_01M951GKH7N3H6KZHG818VS130",
    status: "completed",
    columns: COLUMNS,
    rowCount: 250,
    truncated: false,
    resultUrl: "https://phigate.example/objects/x",
  };

  it("shows the first rows of a large (resultUrl) result and counts the rest", async () => {
    const mcp = await session(standIn({ rows: 250, query: { status: 200, body: largeBody } }));
    const result = await call(mcp, "query", { sql: "SELECT id, ssn FROM patients" });
    expect(result.structuredContent).toMatchObject({ rowCount: 250, rowsShown: 100 });
    expect(textOf(result)).toContain("Showing the first 100 (");
    expect(textOf(result)).toContain("| 100 | [REDACTED] |");
    expect(textOf(result)).not.toContain("| 101 |");
  });

  it("shows no more than its characters' bound of wide rows, and reads no further (the forty-first outside attack)", async () => {
    // Each row's JSON value decodes to 20,000 objects; 100 of them took ~140 MB per answer.
    const wide = Array.from({ length: 20_000 }, () => ({}));
    const read = { rows: 0 };
    const body = largeBody;
    const mcp = await session(standIn({ rows: 250, cell: () => wide, read, query: { status: 200, body } }));
    const result = await call(mcp, "query", { sql: "SELECT id, ssn FROM patients" });
    const perRow = JSON.stringify([1, wide]).length;
    const fits = Math.floor(MAX_SHOWN_CHARS / perRow);
    expect(fits).toBeGreaterThan(0);
    expect(result.structuredContent).toMatchObject({ rowCount: 250, rowsShown: fits });
    expect(read.rows).toBe(fits + 1);
    expect(textOf(result)).toContain(`Showing the first ${fits} (`);
    // An inline result is bounded the same way.
    const inline = await session(
      standIn({
        query: {
          status: 200,
          body: { ...body, resultUrl: undefined, rows: Array.from({ length: 50 }, (_, i) => [i, wide]) },
        },
      }),
    );
    expect((await call(inline, "query", { sql: "SELECT 1" })).structuredContent).toMatchObject({
      rowsShown: fits,
    });
  });

  it("refuses an approval id it did not submit, asking for the session id", async () => {
    const result = await call(await session(standIn({})), "wait_for_approval", { approvalId: "apr_X" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^unknown_approval: .*pass the sessionId/);
  });
});
