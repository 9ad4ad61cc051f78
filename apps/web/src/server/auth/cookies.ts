import { parseCookie, stringifySetCookie } from "cookie";

export const sessionCookieName = "bl_session";
/** Double-submit CSRF token: readable by the page's script, which echoes it in `x-csrf-token`. */
export const csrfCookieName = "bl_csrf";
export const csrfHeaderName = "x-csrf-token";

export function readCookie(headers: Headers, name: string): string | undefined {
  const header = headers.get("cookie");
  return header ? parseCookie(header)[name] : undefined;
}

/** Secure cookies whenever the browser talks https to us (directly or through a TLS-terminating proxy). */
export function wantsSecureCookies(requestUrl: string, headers: Headers, forced?: "true" | "false"): boolean {
  if (forced) return forced === "true";
  return new URL(requestUrl).protocol === "https:" || headers.get("x-forwarded-proto") === "https";
}

export function sessionCookie(token: string, expiresAt: Date, secure: boolean): string {
  return stringifySetCookie({
    name: sessionCookieName,
    value: token,
    httpOnly: true,
    sameSite: "lax",
    secure,
    path: "/",
    expires: expiresAt,
  });
}

export function clearedSessionCookie(secure: boolean): string {
  return stringifySetCookie({
    name: sessionCookieName,
    value: "",
    httpOnly: true,
    sameSite: "lax",
    secure,
    path: "/",
    maxAge: 0,
  });
}

export function csrfCookie(token: string, secure: boolean): string {
  return stringifySetCookie({ name: csrfCookieName, value: token, sameSite: "strict", secure, path: "/" });
}
