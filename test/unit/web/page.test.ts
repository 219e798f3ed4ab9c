// The one page kit: one CSP admitting exactly its two stylesheets, one set of headers, titles and messages escaped.

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { html } from "#shared/web/html-template.ts";
import { CONTENT_SECURITY_POLICY, htmlPage, messagePage, PAGE_HEADERS, page } from "#shared/web/page.ts";
import { DOCUMENT_CSS, PAGE_CSS } from "#shared/web/page-css.ts";

const hash = (css: string) => `'sha256-${createHash("sha256").update(css, "utf8").digest("base64")}'`;

describe("page kit", () => {
  it("pins both stylesheets in one policy that allows no script, image or frame", () => {
    const directives = new Map(
      CONTENT_SECURITY_POLICY.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1)] as const),
    );
    expect(directives.get("style-src")?.sort()).toEqual([hash(PAGE_CSS), hash(DOCUMENT_CSS)].sort());
    expect(directives.get("default-src")).toEqual(["'none'"]);
    expect(directives.get("script-src")).toEqual(["'none'"]);
    expect(directives.get("frame-ancestors")).toEqual(["'none'"]);
    expect(PAGE_HEADERS["content-security-policy"]).toBe(CONTENT_SECURITY_POLICY);
  });

  it("serves a page with those headers, its stylesheet inline, its title and message escaped", async () => {
    const response = messagePage(403, "Not <allowed>", 'you are "x" & \u202Ey', { cookies: ["a=1", "b=2"] });
    expect(response.status).toBe(403);
    expect(response.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    const text = await response.text();
    expect(text).toContain(`<style>${PAGE_CSS}</style>`);
    expect(text).toContain("<title>Not &lt;allowed&gt;</title>");
    expect(text).toContain("you are &quot;x&quot; &amp; ⟨U+202E⟩y");
    const body = await htmlPage(200, "t", html`<p>${"<b>"}</p>`).text();
    expect(body).toContain("<p>&lt;b&gt;</p>");
  });

  it("gives a document the same policy in a meta element (without frame-ancestors) and its own stylesheet", () => {
    const document = page("Replay <1>", html`<p>x</p>`);
    expect(document).toContain(
      `content="${CONTENT_SECURITY_POLICY.replace("; frame-ancestors 'none'", "").replaceAll("'", "&#39;")}"`,
    );
    expect(document).toContain(`<style>${DOCUMENT_CSS}</style>`);
    expect(document).toContain("<title>Replay &lt;1&gt;</title>");
  });
});
