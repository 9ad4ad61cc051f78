import { type NextRequest, NextResponse } from "next/server";
import { csrfCookieName } from "./server/auth/cookies.ts";

const development = process.env.NODE_ENV === "development";

/**
 * Every asset comes from this server: the policy lets a page talk to no other host. Inline scripts are
 * allowed because Next inlines its hydration data; eval only in development (React's dev tooling).
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  `script-src 'self' 'unsafe-inline'${development ? " 'unsafe-eval'" : ""}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join("; ");

/** Security headers on every response, and a CSRF token cookie for browsers that have none yet. */
export function proxy(request: NextRequest): NextResponse {
  const response = NextResponse.next();
  response.headers.set("content-security-policy", contentSecurityPolicy);
  response.headers.set("x-content-type-options", "nosniff");
  response.headers.set("referrer-policy", "same-origin");
  response.headers.set("x-frame-options", "DENY");
  if (!request.cookies.has(csrfCookieName)) {
    const secure =
      request.nextUrl.protocol === "https:" || request.headers.get("x-forwarded-proto") === "https";
    response.cookies.set(csrfCookieName, crypto.randomUUID() + crypto.randomUUID(), {
      sameSite: "strict",
      secure,
      path: "/",
      httpOnly: false,
    });
  }
  return response;
}

export const config = {
  matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"],
};
