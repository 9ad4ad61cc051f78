import "server-only";
import { headers } from "next/headers";
import { cache } from "react";
import { createCaller } from "./app-router.ts";
import { requestContext } from "./request-context.ts";

/**
 * tRPC procedures called directly from server components, as the visiting user (read-only). Cached per
 * request: the header and the page share one context, so the session is looked up once.
 */
export const serverCaller = cache(async () => {
  const requestHeaders = new Headers(await headers());
  const host = requestHeaders.get("host") ?? "localhost";
  const protocol = requestHeaders.get("x-forwarded-proto") ?? "http";
  const context = await requestContext(`${protocol}://${host}/`, requestHeaders, () => {
    throw new Error("server components cannot set cookies");
  });
  return createCaller(context);
});
