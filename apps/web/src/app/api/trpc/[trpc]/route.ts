import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { appRouter } from "../../../../server/trpc/app-router.ts";
import { log } from "../../../../server/log.ts";
import { requestContext } from "../../../../server/trpc/request-context.ts";

function handler(request: Request) {
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: ({ req, resHeaders }) =>
      requestContext(req.url, req.headers, (cookie) => resHeaders.append("set-cookie", cookie)),
    onError: ({ error, path, ctx }) => {
      if (error.code === "INTERNAL_SERVER_ERROR")
        log().error(
          { procedure: path, userId: ctx?.user?.id, err: error.cause ?? error },
          "a procedure failed",
        );
    },
  });
}

export { handler as GET, handler as POST };
