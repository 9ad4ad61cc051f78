import { timingSafeEqual } from "node:crypto";
import { csrfCookieName, csrfHeaderName, readCookie } from "./cookies.ts";

/**
 * Why a state-changing request must be refused, or undefined when it may go on. Two checks: the page's
 * script echoed the CSRF cookie in a header (another site can neither read the cookie nor set the
 * header without a CORS preflight we never grant), and the browser's Origin / Sec-Fetch-Site, when
 * sent, say the request came from this site.
 */
export function csrfRefusal(requestUrl: string, headers: Headers): string | undefined {
  const origin = headers.get("origin");
  if (origin && origin !== new URL(requestUrl).origin && origin !== forwardedOrigin(headers)) {
    return `requests from ${origin} are not accepted`;
  }
  const fetchSite = headers.get("sec-fetch-site");
  if (fetchSite && fetchSite !== "same-origin" && fetchSite !== "none") {
    return "cross-site requests are not accepted";
  }
  const cookieToken = readCookie(headers, csrfCookieName);
  const headerToken = headers.get(csrfHeaderName);
  if (!cookieToken || !headerToken) return "the CSRF token is missing; reload the page and try again";
  const expected = Buffer.from(cookieToken);
  const received = Buffer.from(headerToken);
  if (expected.length < 16 || expected.length !== received.length || !timingSafeEqual(expected, received)) {
    return "the CSRF token does not match; reload the page and try again";
  }
  return undefined;
}

/** The origin the browser saw when a proxy forwards requests (Host / X-Forwarded-* headers). */
function forwardedOrigin(headers: Headers): string | undefined {
  const host = headers.get("x-forwarded-host") ?? headers.get("host");
  if (!host) return undefined;
  const protocol = headers.get("x-forwarded-proto") ?? "http";
  return `${protocol}://${host}`;
}
