// The CLI against a hostile gateway on 127.0.0.1: escape sequences in every field it prints, formulas for spreadsheets,
// endless bodies, silence, a result without a digest — it shows what it got, never obeys it, and always ends.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { createGzip, gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { queryCommand } from "#cli/commands/query.ts";
import { errorReport } from "#cli/error-text.ts";
import { STREAMED_RESULT_FORMAT } from "#shared/sessions/result-format.ts";

const run = promisify(execFile);
const BIN = resolve("bin/phigate.mjs");

/** Characters a terminal acts on (C0 but newline and CR, DEL, C1), bidi controls and zero-width characters. */
const ACTIVE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the purpose
  /[\u0000-\u0009\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/u;
/** A CR not ending a CSV line. */
const STRAY_CR = /\r(?!\n)/;

const OSC_TITLE = "\u001b]0;pwned\u0007";
const CLEAR = "\u001b[2J\u001b[H";
const OSC52 = "\u001b]52;c;cm0gLXJmIH4=\u0007";
const LINK = "\u001b]8;;https://evil.example/\u0007click\u001b]8;;\u0007";
const C1_CSI = "\u009b31m";
const BIDI = "\u202Etxt.exe\u200B";

const ESCAPING_ANSWER = {
  sessionId: `ses_${OSC_TITLE}`,
  status: "completed",
  columns: [
    { name: `name${CLEAR}`, type: "text", masking: null },
    { name: "=cmd|' /C calc'!A0", type: "text", masking: { rule: `r${OSC_TITLE}`, strategy: `s${C1_CSI}` } },
  ],
  rows: [
    [OSC52, '=HYPERLINK("https://evil.example","x")'],
    [LINK, "@SUM(1+1)"],
    [BIDI, "-2+3"],
    [-5, "+1"],
    ["tab", "\tlead"],
    ["cr", "\rlead"],
  ],
  rowCount: 6,
  truncated: false,
};

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

const RESULT = gzipSync(
  [
    {
      format: STREAMED_RESULT_FORMAT,
      sessionId: "ses_x",
      columns: [{ name: "v", type: "text", masking: null }],
    },
    [`row${OSC52}`],
  ]
    .map((line) => `${JSON.stringify(line)}\n`)
    .join(""),
);

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function endlessJson(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "application/json" });
  const chunk = Buffer.from(`[${"1,".repeat(32 * 1024)}`);
  const pump = (): void => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once("drain", pump);
  };
  pump();
}

function endlessGzip(res: ServerResponse, line: boolean): void {
  res.writeHead(200, { "content-type": "application/gzip" });
  const gzip = createGzip({ level: 1 });
  gzip.pipe(res);
  res.once("close", () => gzip.destroy());
  const header = `${JSON.stringify({ format: STREAMED_RESULT_FORMAT, sessionId: "ses_x", columns: [{ name: "v", type: "text", masking: null }] })}\n`;
  gzip.write(line ? `${header}["` : header);
  const chunk = Buffer.from(line ? "a".repeat(1024 * 1024) : '["row"]\n'.repeat(64 * 1024));
  const pump = (): void => {
    while (!gzip.destroyed && gzip.write(chunk));
    if (!gzip.destroyed) gzip.once("drain", pump);
  };
  pump();
}

describe("phigate query against a hostile gateway", () => {
  let server: Server;
  let base: string;
  let out = "";
  let err = "";
  const envBefore = { ...process.env };

  function handle(req: IncomingMessage, res: ServerResponse): unknown {
    const [, mode, ...rest] = (req.url ?? "/").split("/");
    const path = `/${rest.join("/")}`;
    const future = new Date(Date.now() + 3_600_000).toISOString();
    switch (mode) {
      case "escape":
        return json(res, 200, ESCAPING_ANSWER);
      case "error":
        return json(res, 403, {
          error: {
            code: `policy_denied${CLEAR}`,
            message: `no\nFAIL fake line${LINK}`,
            sessionId: `ses_${OSC52}`,
          },
        });
      case "deny":
        if (path.startsWith("/v1/queries"))
          return json(res, 202, {
            sessionId: "ses_1",
            status: "pending_approval",
            approval: { id: `apr_${OSC_TITLE}`, expiresAt: future, reasons: ["r"] },
          });
        if (req.url?.endsWith("wait=0"))
          return json(res, 200, { status: "pending_approval", approval: { quorum: 1, expiresAt: future } });
        return json(res, 200, {
          status: "denied",
          approvals: [{ approver: `mallory${OSC_TITLE}`, decision: "deny", comment: `bye${CLEAR}\nOK fake` }],
        });
      case "endless":
        return endlessJson(res);
      case "silence":
        return;
      case "stall":
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"sessionId": "ses_1", ');
        return;
      case "result":
        if (rest[0] === "endless-rows") return endlessGzip(res, false);
        if (rest[0] === "endless-line") return endlessGzip(res, true);
        res.writeHead(200, { "content-type": "application/gzip" });
        res.end(RESULT);
        return;
      default: {
        // `/<kind>/v1/queries`: a completed answer pointing at a result link, with or without its digest.
        const sha = mode === "nosha" ? {} : { resultSha256: sha256(RESULT) };
        const link = mode === "nosha" || mode === "good" ? "plain" : mode;
        return json(res, 200, {
          sessionId: "ses_1",
          status: "completed",
          columns: [{ name: "v", type: "text", masking: null }],
          rows: [],
          rowCount: 1,
          truncated: false,
          resultUrl: `${base}/result/${link}`,
          ...sha,
        });
      }
    }
  }

  async function query(
    mode: string,
    ...args: string[]
  ): Promise<{ status: number | undefined; error: unknown }> {
    out = "";
    err = "";
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      out += chunk.toString();
      return true;
    });
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      err += chunk.toString();
      return true;
    });
    try {
      return {
        status: await queryCommand(["SELECT 1", "--token", "t", "--url", `${base}/${mode}`, ...args]),
        error: undefined,
      };
    } catch (error) {
      err += errorReport(error, 4).text;
      return { status: undefined, error };
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  }

  beforeAll(async () => {
    server = createServer(handle);
    await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in envBefore)) delete process.env[key];
    Object.assign(process.env, envBefore);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });

  it.each(["table", "csv", "ndjson", "json"])(
    "prints escape sequences as visible code points (%s)",
    async (format) => {
      const { status } = await query("escape", "--format", format);
      expect(status).toBe(0);
      expect(out).not.toMatch(ACTIVE);
      expect(err).not.toMatch(ACTIVE);
      expect(out).not.toMatch(STRAY_CR);
      expect(err).toMatch(
        /^6 row\(s\), 1 masked column\(s\) · session ses_(⟨U\+001B⟩\]0;pwned⟨U\+0007⟩|\\u001b)/,
      );
      if (format === "table" || format === "csv") expect(out).toContain("⟨U+001B⟩]52;c;");
      if (format === "ndjson" || format === "json") {
        expect(out).toContain("\\u001b]52;c;");
        expect(out).toContain("\\u202e");
      }
    },
  );

  it("neutralises CSV cells a spreadsheet would run as formulas (OWASP), and leaves numbers alone", async () => {
    await query("escape", "--format", "csv");
    const [header, ...lines] = out.trimEnd().split("\r\n");
    expect(header).toBe(`name⟨U+001B⟩[2J⟨U+001B⟩[H,"'=cmd|' /C calc'!A0"`);
    expect(lines[0]).toBe(`⟨U+001B⟩]52;c;cm0gLXJmIH4=⟨U+0007⟩,"'=HYPERLINK(""https://evil.example"",""x"")"`);
    expect(lines[1]).toMatch(/,"'@SUM\(1\+1\)"$/);
    expect(lines[2]).toBe(`⟨U+202E⟩txt.exe⟨U+200B⟩,"'-2+3"`);
    expect(lines[3]).toBe(`-5,"'+1"`);
    expect(lines[4]).toBe(`tab,"'⟨U+0009⟩lead"`);
    expect(lines[5]).toBe(`cr,"'⟨U+000D⟩lead"`);
  });

  it("reports a gateway error, a denial and the progress on one visible line each", async () => {
    const failed = await query("error");
    expect(failed.status).toBeUndefined();
    expect(err).not.toMatch(ACTIVE);
    expect(err.split("\n")).toEqual([
      `policy_denied⟨U+001B⟩[2J⟨U+001B⟩[H: no⟨U+000A⟩FAIL fake line⟨U+001B⟩]8;;https://evil.example/⟨U+0007⟩click⟨U+001B⟩]8;;⟨U+0007⟩ (session ses_⟨U+001B⟩]52;c;cm0gLXJmIH4=⟨U+0007⟩)`,
      "",
    ]);
    const denied = await query("deny");
    expect(denied.error).toMatchObject({ code: "approval_denied" });
    expect(err).not.toMatch(ACTIVE);
    expect(err).toContain(
      "approval_denied: denied by mallory⟨U+001B⟩]0;pwned⟨U+0007⟩: bye⟨U+001B⟩[2J⟨U+001B⟩[H⟨U+000A⟩OK fake",
    );
    expect(err).toContain("waiting for approval apr_⟨U+001B⟩]0;pwned⟨U+0007⟩");
  });

  it("stops an endless answer at the response cap, and memory does not follow it", async () => {
    process.env.PHIGATE_MAX_RESPONSE_BYTES = String(4 * 1024 * 1024);
    const before = process.memoryUsage().rss;
    const { error } = await query("endless");
    expect(error).toMatchObject({ code: "response_too_large" });
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
  });

  it("gives up on a gateway that never answers, or stalls mid-body, with a timeout", async () => {
    process.env.PHIGATE_HEADERS_TIMEOUT_MS = "300";
    process.env.PHIGATE_IDLE_TIMEOUT_MS = "300";
    const silent = await query("silence");
    expect(silent.error).toMatchObject({
      code: "timeout",
      message: "the gateway did not answer within 300 ms",
    });
    const stalled = await query("stall");
    expect(stalled.error).toMatchObject({ code: "timeout" });
    expect((stalled.error as Error).message).toMatch(/sent nothing for 300 ms in the middle of its answer/);
  });

  it("refuses a result without a recorded SHA-256 unless asked, and checks the one it has", async () => {
    const refused = await query("nosha");
    expect(refused.error).toMatchObject({ code: "unverified_result" });
    expect(out).toBe("");
    const allowed = await query("nosha", "--allow-unverified-result", "--format", "csv");
    expect(allowed.status).toBe(0);
    expect(out).toBe("v\r\nrow⟨U+001B⟩]52;c;cm0gLXJmIH4=⟨U+0007⟩\r\n");
    const checked = await query("good", "--format", "ndjson");
    expect(checked.status).toBe(0);
    expect(out).toBe('{"v":"row\\u001b]52;c;cm0gLXJmIH4=\\u0007"}\n');
  });

  it("stops an endless result at the result cap, and a line that never ends at the line cap", async () => {
    process.env.PHIGATE_MAX_RESULT_BYTES = String(8 * 1024 * 1024);
    const rows = await query("endless-rows", "--format", "ndjson", "--allow-unverified-result");
    expect(rows.error).toMatchObject({ code: "response_too_large" });
    delete process.env.PHIGATE_MAX_RESULT_BYTES;
    const before = process.memoryUsage().rss;
    const line = await query("endless-line", "--format", "ndjson", "--allow-unverified-result");
    expect(line.error).toMatchObject({
      code: "bad_result",
      message: expect.stringMatching(/a line of the result is longer than/),
    });
    expect(process.memoryUsage().rss - before).toBeLessThan(512 * 1024 * 1024);
  });

  it("the real binary: a hostile answer reaches the terminal as text, a silent gateway ends it with exit 4", async () => {
    const shown = await run(process.execPath, [
      BIN,
      "query",
      "SELECT 1",
      "--token",
      "t",
      "--url",
      `${base}/escape`,
    ]);
    expect(shown.stdout).not.toMatch(ACTIVE);
    expect(shown.stderr).not.toMatch(ACTIVE);
    const silent = await run(
      process.execPath,
      [BIN, "query", "SELECT 1", "--token", "t", "--url", `${base}/silence`],
      {
        env: { ...process.env, PHIGATE_HEADERS_TIMEOUT_MS: "300" },
      },
    ).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(silent.code).toBe(4);
    expect(silent.stderr).toBe("timeout: the gateway did not answer within 300 ms\n");
  });
});
