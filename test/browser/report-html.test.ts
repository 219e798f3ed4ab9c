// report.html and the replay page in headless Chromium (Debian's): the three sections render, hostile text stays text.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ARTIFACTS, describeWithChromium, launchChromium, type TestBrowser } from "#test/support/chromium.ts";
import { type EvidenceFixture, openEvidenceFixture } from "#test/support/evidence-fixture.ts";

const XSS_SQL = `SELECT id, department FROM encounters WHERE department = '</pre><script>window.pwned=1;alert(1)</script>' LIMIT 2`;
const XSS_CELL = `<svg onload="window.pwned=3">\u202Eevil`;
const XSS_PURPOSE = `<img src=x onerror="window.pwned=2;alert(2)">report`;

describeWithChromium("report.html in headless Chromium", () => {
  let f: EvidenceFixture;
  let browser: TestBrowser;
  let context: BrowserContext;
  let bundle: string;
  const dialogs: string[] = [];

  beforeAll(async () => {
    f = await openEvidenceFixture();
    await f.completed();
    await f.rejected();
    const first = await f.completed({ columns: ["id", "diagnosis_code"], masking: [null, null] });
    await f.completed({}, { request: { ...first.request, sql: XSS_SQL, purpose: XSS_PURPOSE } });
    await f.completed({ columns: ["diagnosis_code"], masking: [null], constant: ["diagnosis_code"] });
    bundle = (await f.build()).location;
    browser = await launchChromium();
    context = browser.context;
    context.on("page", (page) => page.on("dialog", (d) => void dialogs.push(d.message()).valueOf()));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  it("renders the three sections with their counts, keeps hostile text as text, and is saved as a screenshot", async () => {
    const page = await context.newPage();
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`file://${join(bundle, "report.html")}`);
    for (const name of [
      "1. Who accessed PHI",
      "2. Proof that only authorized fields were returned",
      "3. Evidence that each export was reviewed",
    ]) {
      await expect(page.getByRole("heading", { name }).isVisible()).resolves.toBe(true);
    }
    const text = await page.locator("body").textContent();
    expect(text).toContain(XSS_PURPOSE);
    expect(text).toMatch(/4\s*exports \(data returned\)/);
    expect(text).toContain('returned column "diagnosis_code" unmasked');
    expect(text).toMatch(/2 \/ 4\s*exports re-analyzed with the same outcome/);
    expect(text).toMatch(
      /column "diagnosis_code" was masked as nothing; re-analyzed, policy \w+ requires redact/,
    );
    expect(await page.evaluate("window.pwned")).toBeUndefined();
    expect(await page.locator("script, img").count()).toBe(0);
    const style = await page.evaluate("getComputedStyle(document.querySelector('h2')).borderBottomStyle");
    expect(style).toBe("solid");
    await page.screenshot({ path: join(ARTIFACTS, "evidence-report.png"), fullPage: true });
    expect(dialogs).toEqual([]);
  });

  it("renders a replay page the same way", async () => {
    const { renderReplay } = await import("#shared/sessions/replay-html.ts");
    const { replaySession } = await import("#shared/sessions/replay.ts");
    const { parsePolicy } = await import("#shared/policy/load.ts");
    const { TEST_POLICY } = await import("#test/support/evidence-fixture.ts");
    const { silentLogger } = await import("#shared/log.ts");
    const template = await f.completed();
    const record = await f.completed(
      { rows: [[7, XSS_CELL]] },
      { request: { ...template.request, sql: XSS_SQL, purpose: XSS_PURPOSE } },
    );
    const policy = parsePolicy(TEST_POLICY, "test");
    const deps = {
      sessions: f.sessions,
      objects: f.objects,
      policy: { current: () => policy, context: { devIssuer: undefined } },
      logger: silentLogger,
    } as unknown as Parameters<typeof replaySession>[0];
    const path = join(ARTIFACTS, "session-replay.html");
    await writeFile(path, renderReplay(await replaySession(deps, record.principal, record.sessionId)));
    const page = await context.newPage();
    await page.goto(`file://${path}`);
    for (const name of ["1. Request", "3. Decision", "4. Approvals", "5. Execution", "6. Masked response"]) {
      await expect(page.getByRole("heading", { name }).isVisible()).resolves.toBe(true);
    }
    expect(await page.locator("pre").first().textContent()).toBe(XSS_SQL);
    expect(await page.locator("body").textContent()).toContain('<svg onload="window.pwned=3">⟨U+202E⟩evil');
    expect(await page.locator("script, img, svg").count()).toBe(0);
    expect(await page.evaluate("window.pwned")).toBeUndefined();
    await page.screenshot({ path: join(ARTIFACTS, "session-replay.png"), fullPage: true });
    expect(dialogs).toEqual([]);
  });
});
