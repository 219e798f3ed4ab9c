// Cookies in and out: the request's Cookie header in, `Set-Cookie` strings out.

/** The request's cookies by name (the first of a name wins). */
export function requestCookies(request: Request): Map<string, string> {
  const pairs = (request.headers.get("cookie") ?? "").split(";");
  const cookies = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, pair.slice(eq + 1).trim());
  }
  return cookies;
}

/** Attributes of a cookie the gateway sets. */
export interface CookieOptions {
  readonly path: string;
  readonly maxAgeSeconds: number;
  readonly sameSite: "Strict" | "Lax";
  /** Set when the public URL is https (a local http gateway cannot use Secure cookies). */
  readonly secure: boolean;
}

/** A `Set-Cookie` value; always `HttpOnly`. `maxAgeSeconds: 0` deletes the cookie. */
export function setCookie(name: string, value: string, options: CookieOptions): string {
  return [
    `${name}=${value}`,
    `Path=${options.path}`,
    `Max-Age=${options.maxAgeSeconds}`,
    "HttpOnly",
    `SameSite=${options.sameSite}`,
    ...(options.secure ? ["Secure"] : []),
  ].join("; ");
}
