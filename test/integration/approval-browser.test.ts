// A real browser (Debian's Chromium via playwright-core) approves a risky query: the link, the dev IdP sign-in form,
// the exact SQL on the page, Approve with a comment — and the CI side's long poll gets its masked result.

import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RAW_SSN, RISKY_SQL, rawSsns, waitForStatus } from "#test/support/approvals.ts";
import { ARTIFACTS, describeWithChromium, launchChromium, type TestBrowser } from "#test/support/chromium.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

describeWithChromium("the approver page in a real browser (Chromium)", () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({ consoleNotifications: () => {} });
    browser = await launchChromium({ width: 1280, height: 900 });
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it("signs alice in through the dev IdP, shows the exact SQL, approves with a comment; the CI poll gets the masked result", async () => {
    const nightly = await gw.token(NIGHTLY, {
      claims: { repository: "acme/ehr-reports", run_id: "987654321" },
    });
    const submitted = await gw.query(nightly, { sql: RISKY_SQL, purpose: "nightly report" });
    expect(submitted.status).toBe(202);
    const approvalId: string = submitted.body.approval.id;
    const poll = waitForStatus(
      gw,
      nightly,
      submitted.body.sessionId,
      ["completed", "failed", "denied", "expired"],
      120_000,
    );

    await page.goto(`${gw.url}/approvals/${approvalId}`);
    await page.waitForURL(/\/dev-idp\/authorize\?/);
    expect(await page.locator("h1").textContent()).toContain("Sign in");
    await page.fill("#sub", "alice");
    await page.fill("#groups", "phi-approvers");
    await page.click("button[type=submit]");
    await page.waitForURL(`${gw.url}/approvals/${approvalId}`);

    const sql = page.locator("pre.sql");
    expect(await sql.textContent()).toBe(RISKY_SQL);
    expect(await sql.locator("span.k").allInnerTexts()).toEqual(["SELECT", "FROM", "JOIN", "ON"]);
    const body = (await page.locator("main").textContent()) ?? "";
    expect(body).toContain(NIGHTLY);
    expect(body).toContain("full-history");
    expect(body).toContain("redact");
    expect(body).toMatch(/Estimated rows\s*60,000/);
    expect(body).toMatch(/Time left\s*(59|60) min/);
    expect(
      await page.locator('a[href="https://github.com/acme/ehr-reports/actions/runs/987654321"]').count(),
    ).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, "approval-page.png"), fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    const approve = page.locator("button.approve");
    const box = await approve.boundingBox();
    expect(box?.height ?? 0).toBeGreaterThanOrEqual(44);
    expect(box?.width ?? 0).toBeGreaterThan(300);
    await page.screenshot({ path: join(ARTIFACTS, "approval-page-phone.png"), fullPage: true });

    await page.fill("#comment", "Approved for the nightly report (browser test)");
    const clicked = Date.now();
    await approve.click();
    await page.waitForURL(`${gw.url}/approvals/${approvalId}?done=approve`);
    expect(await page.locator(".banner").textContent()).toContain("approve");
    expect(await page.locator("h1 .badge").textContent()).toBe("approved");

    const done = await poll;
    const elapsed = Date.now() - clicked;
    expect(done.body.status).toBe("completed");
    expect(done.body.approvals).toEqual([
      expect.objectContaining({
        approver: "alice",
        decision: "approve",
        comment: "Approved for the nightly report (browser test)",
      }),
    ]);
    // The result is inline, so every row is in the response body the leak checks below scan.
    const result = done.body.result;
    expect(result.resultUrl).toBeUndefined();
    expect(result.rowCount).toBeGreaterThan(0);
    expect(result.rows).toHaveLength(result.rowCount);
    const raws = await rawSsns(gw);
    expect(raws).toHaveLength(200);
    for (const raw of raws) expect(done.text).not.toContain(raw);
    const ssnAt = result.columns.findIndex((c: { name: string }) => c.name === "ssn");
    expect(ssnAt).toBeGreaterThanOrEqual(0);
    for (const row of result.rows) expect(String(row[ssnAt])).not.toMatch(RAW_SSN);
    console.info(`browser approve click → CI result: ${elapsed} ms`);

    await page.setViewportSize({ width: 1280, height: 900 });
    await page.reload();
    expect(await page.locator("form").count()).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, "approval-page-decided.png"), fullPage: true });
    expect(problems).toEqual([]);
  });
});
