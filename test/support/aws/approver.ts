// An approver in a browser, as HTTP: the page's OIDC sign-in at the loopback provider, the page, and the Approve form.

import { request as httpsRequest } from "node:https";
import { expect } from "vitest";
import type { ApiResponse } from "./api-gateway.ts";
import { type Deployment, PUBLIC_URL } from "./deployment.ts";

/** A cookie jar fed by `Set-Cookie` values (name=value; attributes; `Max-Age=0` deletes). */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(response: ApiResponse): void {
    for (const line of response.cookies) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      if (attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1).trim());
    }
  }

  list(): string[] {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`);
  }
}

function follow(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpsRequest(url, { ca }, (res) => {
      res.resume();
      res.on("end", () => resolve(String(res.headers.location ?? "")));
    })
      .on("error", reject)
      .end();
  });
}

/** Signs in on the approval page through the provider and approves the statement with the page's form. */
export async function approveOnPage(
  d: Deployment,
  approvalId: string,
  decision: "approve" | "deny" = "approve",
): Promise<void> {
  const jar = new CookieJar();
  const api = d.cloud.api;
  const first = await api.send({ method: "GET", path: `/approvals/${approvalId}` });
  expect(first.status, first.body).toBe(302);
  jar.take(first);
  const callback = new URL(await follow(first.headers.location ?? "", d.tls.cert));
  expect(`${callback.origin}${callback.pathname}`).toBe(`${PUBLIC_URL}/approvals/oidc/callback`);
  const signedIn = await api.send({
    method: "GET",
    path: `${callback.pathname}${callback.search}`,
    cookies: jar.list(),
  });
  // The callback answers a same-site page that moves on to the approval (SameSite=Strict cookies need that hop).
  expect(signedIn.status, signedIn.body).toBe(200);
  expect(signedIn.body).toContain(`url=/approvals/${approvalId}`);
  jar.take(signedIn);
  const page = await api.send({ method: "GET", path: `/approvals/${approvalId}`, cookies: jar.list() });
  expect(page.status, page.body).toBe(200);
  const hidden = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(page.body)?.[1] ?? "";
  const csrf = hidden("csrf");
  expect(csrf).not.toBe("");
  const posted = await api.send({
    method: "POST",
    path: `/approvals/${approvalId}`,
    cookies: jar.list(),
    headers: { "content-type": "application/x-www-form-urlencoded", origin: PUBLIC_URL },
    body: new URLSearchParams({
      csrf,
      binding: hidden("binding"),
      decision,
      comment: "checked the purpose",
    }).toString(),
  });
  expect(posted.status, posted.body).toBe(303);
}
