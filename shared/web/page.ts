// HTML responses for the browser pages: escaping, one stylesheet pinned by its hash in a strict CSP, no script at all.

import { createHash } from "node:crypto";
import { escapeHtml } from "#shared/web/html-template.ts";
import { PAGE_CSS } from "./page-css.ts";

const STYLE_HASH = createHash("sha256").update(PAGE_CSS, "utf8").digest("base64");

/**
 * The policy every page carries: nothing loads but the one inline stylesheet (by hash); no script, no frames, no
 * plugins; forms post only to this origin.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${STYLE_HASH}'`,
  "img-src 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** Security headers of every HTML page. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  // Not `no-referrer`: with it a browser posts forms with `Origin: null`, which the CSRF origin check must refuse.
  // `same-origin` still keeps the approval URL from ever reaching another site.
  "referrer-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
};

/** Response headers: `headers`, then one `Set-Cookie` per cookie. */
export function withCookies(headers: Readonly<Record<string, string>>, cookies: readonly string[]): Headers {
  const out = new Headers(headers);
  for (const cookie of cookies) out.append("set-cookie", cookie);
  return out;
}

/** A whole page: `title` is text (escaped here), `body` is HTML the caller built from escaped pieces. */
export function htmlPage(
  statusCode: number,
  title: string,
  body: string,
  options: { readonly cookies?: readonly string[]; readonly head?: string } = {},
): Response {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">${options.head ?? ""}<title>${escapeHtml(title)}</title>
<style>${PAGE_CSS}</style></head>
<body><main>${body}</main></body></html>
`;
  return new Response(html, {
    status: statusCode,
    headers: withCookies(PAGE_HEADERS, options.cookies ?? []),
  });
}

/** A redirect (`302` after sign-in steps, `303` after a form post), with cookies to set. */
export function redirect(
  location: string,
  statusCode: 302 | 303 = 302,
  cookies: readonly string[] = [],
): Response {
  return new Response(null, {
    status: statusCode,
    headers: withCookies(
      { location, "cache-control": "no-store", "referrer-policy": "same-origin" },
      cookies,
    ),
  });
}

/** A short page with a heading and a message (errors, sign-in steps). */
export function messagePage(
  statusCode: number,
  heading: string,
  message: string,
  options: {
    readonly cookies?: readonly string[];
    readonly link?: { href: string; text: string };
    readonly refreshTo?: string;
  } = {},
): Response {
  const link =
    options.link === undefined
      ? ""
      : `<p><a class="button" href="${escapeHtml(options.link.href)}">${escapeHtml(options.link.text)}</a></p>`;
  const head =
    options.refreshTo === undefined
      ? ""
      : `<meta http-equiv="refresh" content="0;url=${escapeHtml(options.refreshTo)}">`;
  return htmlPage(
    statusCode,
    heading,
    `<h1>${escapeHtml(heading)}</h1><section><p>${escapeHtml(message)}</p>${link}</section>`,
    { ...(options.cookies === undefined ? {} : { cookies: options.cookies }), head },
  );
}
