import { readCookie, sessionCookieName, wantsSecureCookies } from "../auth/cookies.ts";
import { findSessionUser } from "../auth/session-store.ts";
import { serverEnv } from "../env.ts";
import { platformContext } from "../platform.ts";
import type { Context } from "./context.ts";

/** The context of one HTTP request: the platform's services plus the signed-in user, if any. */
export async function requestContext(
  url: string,
  headers: Headers,
  setCookie: (cookie: string) => void,
): Promise<Context> {
  const base = platformContext();
  const sessionToken = readCookie(headers, sessionCookieName);
  return {
    ...base,
    user: await findSessionUser(base.db.prisma, sessionToken),
    http: {
      url,
      headers,
      sessionToken,
      secureCookies: wantsSecureCookies(url, headers, serverEnv().BACKEND_LABS_SECURE_COOKIES),
      setCookie,
    },
  };
}
