import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "../../../../server/trpc/app-router.ts";
import { requestContext } from "../../../../server/trpc/request-context.ts";

function handler(request: Request) {
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: ({ req, resHeaders }) =>
      requestContext(req.url, req.headers, (cookie) => resHeaders.append("set-cookie", cookie)),
    onError: ({ error, path }) => {
      if (error.code === "INTERNAL_SERVER_ERROR") {
        process.stderr.write(`tRPC ${path ?? "?"} failed: ${error.stack ?? error.message}\n`);
      }
    },
  });
}

export { handler as GET, handler as POST };
