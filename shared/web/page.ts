// The page kit: HTML pages and documents built with the escaping `html` tag, one stylesheet each pinned by its hash in
// one strict Content-Security-Policy (no script at all), served with one set of headers.

import { createHash } from "node:crypto";
import { html, SafeHtml } from "#shared/web/html-template.ts";
import { DOCUMENT_CSS, PAGE_CSS } from "./page-css.ts";

const hashOf = (css: string): string => createHash("sha256").update(css, "utf8").digest("base64");

/**
 * The policy every page and document carries: nothing loads but the two stylesheets (by hash); no script, no image,
 * no frames, no plugins; forms post only to this origin.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${hashOf(PAGE_CSS)}' 'sha256-${hashOf(DOCUMENT_CSS)}'`,
  "img-src 'none'",
  "script-src 'none'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Security headers of every HTML page. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  // Not `no-referrer`: with it a browser posts forms with `Origin: null`, which the CSRF origin check must refuse.
  // `same-origin` still keeps a page's URL (an approval's, a session's) from ever reaching another site.
  "referrer-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
};

/**
 * A self-contained document (session replay, evidence report): the CSP is also in a meta element (without
 * `frame-ancestors`, which a meta element cannot carry), so a file opened from disk keeps it.
 */
export function page(title: string, body: SafeHtml): string {
  const metaCsp = CONTENT_SECURITY_POLICY.replace("; frame-ancestors 'none'", "");
  return `<!doctype html>\n${
    html`<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${metaCsp}">
<meta name="referrer" content="same-origin">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${new SafeHtml(DOCUMENT_CSS)}</style>
</head>
<body>
${body}
</body>
</html>
`.value
  }`;
}

/** Response headers: `headers`, then one `Set-Cookie` per cookie. */
export function withCookies(headers: Readonly<Record<string, string>>, cookies: readonly string[]): Headers {
  const out = new Headers(headers);
  for (const cookie of cookies) out.append("set-cookie", cookie);
  return out;
}

/** A browser page (approval, sign-in) as a response: `title` is text, `body` HTML built with the `html` tag. */
export function htmlPage(
  statusCode: number,
  title: string,
  body: SafeHtml,
  options: { readonly cookies?: readonly string[]; readonly head?: SafeHtml } = {},
): Response {
  const document = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">${options.head}<title>${title}</title>
<style>${new SafeHtml(PAGE_CSS)}</style></head>
<body><main>${body}</main></body></html>
`;
  return new Response(document.value, {
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
      : html`<p><a class="button" href="${options.link.href}">${options.link.text}</a></p>`;
  const head =
    options.refreshTo === undefined
      ? undefined
      : html`<meta http-equiv="refresh" content="0;url=${options.refreshTo}">`;
  return htmlPage(statusCode, heading, html`<h1>${heading}</h1><section><p>${message}</p>${link}</section>`, {
    ...(options.cookies === undefined ? {} : { cookies: options.cookies }),
    ...(head === undefined ? {} : { head }),
  });
}
