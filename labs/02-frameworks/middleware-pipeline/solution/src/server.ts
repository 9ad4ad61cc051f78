// Given, and not yours to change: the HTTP server around your pipeline. It turns each request into a
// Context, runs the app from createApp(routes) on it, and sends ctx.status, ctx.responseHeaders and
// ctx.body once the whole pipeline has finished.
import { createServer, type ServerResponse } from "node:http";
import { type Context, createApp } from "./pipeline.ts";
import { routes } from "./routes.ts";

const app = createApp(routes);

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

// A real server would log this and exit, and be restarted. This one keeps running, so that one error that
// escaped your pipeline fails one test instead of every test after it.
process.on("unhandledRejection", (reason) => {
  console.error(
    `[server.ts] unhandled rejection: an error escaped the middleware pipeline: ${describe(reason)}`,
  );
});

function send(response: ServerResponse, ctx: Context): void {
  const headers = new Headers(ctx.responseHeaders);
  let payload = "";
  if (ctx.body !== undefined) {
    payload = typeof ctx.body === "string" ? ctx.body : JSON.stringify(ctx.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  response.writeHead(ctx.status, Object.fromEntries(headers)).end(payload);
}

function fail(response: ServerResponse, why: string, error: unknown): void {
  console.error(`[server.ts] ${why}: ${describe(error)}`);
  if (!response.headersSent) response.writeHead(500, { "content-type": "text/plain" });
  response.end(`${why}\n`);
}

const server = createServer((request, response) => {
  const ctx: Context = {
    method: request.method ?? "GET",
    path: new URL(request.url ?? "/", "http://localhost").pathname,
    headers: request.headers,
    requestId: "",
    status: 404,
    body: undefined,
    responseHeaders: new Headers(),
    state: {},
  };
  Promise.resolve()
    .then(() => app(ctx, () => Promise.resolve()))
    .then(
      () => {
        try {
          send(response, ctx);
        } catch (error) {
          fail(response, "the response the pipeline left in ctx could not be sent", error);
        }
      },
      (error: unknown) => fail(response, "an error escaped the middleware pipeline", error),
    );
});

server.listen(Number(process.env.PORT));
