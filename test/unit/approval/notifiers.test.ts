// Notification channels: the Slack-compatible webhook (short timeout, failure logged not fatal) and the fan-out.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConsoleNotifier, consoleLine } from "#infra/local/adapters/console-notifier.ts";
import { WebhookNotifier } from "#infra/local/adapters/webhook-notifier.ts";
import { FanOutNotifier } from "#shared/approval/fan-out-notifier.ts";
import type { ApprovalNotice } from "#shared/approval/notice.ts";
import { createJsonLogger } from "#shared/log.ts";

const notice: ApprovalNotice = {
  approvalId: "apr_0000000000000000000000000A",
  sessionId: "ses_00000000000000000000000000",
  link: "http://127.0.0.1:8787/approvals/apr_0000000000000000000000000A",
  requester: {
    label: "nightly\r\njob",
    subject: "repo:acme/r:ref:refs/heads/main",
    issuer: "https://ci.test",
  },
  reasons: ["public.patients is read with no restrictive predicate"],
  expiresAt: "2026-11-29T13:00:00.000Z",
  quorum: 1,
  createdAt: "2026-11-29T12:00:00.000Z",
};

function logger() {
  const lines: string[] = [];
  return { lines, logger: createJsonLogger({ service: "t", level: "debug", write: (l) => lines.push(l) }) };
}

describe("notifiers", () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    vi.restoreAllMocks();
  });

  async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/secret-path`;
  }

  it("posts {text} with the link and reasons to the webhook", async () => {
    const bodies: unknown[] = [];
    const url = await listen((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        bodies.push({ type: req.headers["content-type"], body: JSON.parse(body) });
        res.end("ok");
      });
    });
    await new WebhookNotifier({ url, logger: logger().logger }).notify(notice);
    expect(bodies).toEqual([
      { type: "application/json", body: { text: expect.stringContaining(notice.link) } },
    ]);
    expect(JSON.stringify(bodies)).toContain("no restrictive predicate");
  });

  it("logs a failing or slow webhook without the URL and never throws", async () => {
    const slow = await listen(() => undefined);
    const { lines, logger: log } = logger();
    const timeout = vi.spyOn(AbortSignal, "timeout");
    // The server never answers, so this returns only because the configured timeout aborted the request.
    await new WebhookNotifier({ url: slow, logger: log, timeoutMs: 200 }).notify(notice);
    expect(timeout).toHaveBeenCalledExactlyOnceWith(200);
    expect(lines.join("\n")).toContain("approval webhook unreachable");
    expect(lines.join("\n")).toContain('"errorName":"TimeoutError"');
    expect(lines.join("\n")).not.toContain("secret-path");
  });

  it("fans out: an optional channel's failure is logged, a required one's fails the notification", async () => {
    const { lines, logger: log } = logger();
    const failing = { notify: async () => Promise.reject(new Error("down")) };
    const printed: string[] = [];
    await new FanOutNotifier(
      [
        { name: "console", notifier: new ConsoleNotifier((l) => printed.push(l)), required: true },
        { name: "webhook", notifier: failing, required: false },
      ],
      log,
    ).notify(notice);
    expect(printed).toEqual([consoleLine(notice)]);
    expect(printed[0]).not.toMatch(/[\r\n]/);
    expect(lines.join("\n")).toContain('"channel":"webhook"');
    await expect(
      new FanOutNotifier([{ name: "outbox", notifier: failing, required: true }], log).notify(notice),
    ).rejects.toThrow("down");
  });
});
