import { createServer, type ServerResponse } from "node:http";
import pg from "pg";
import { type LogLevel, logLevels, loadConfig, redactConfig } from "./config.ts";

// The grader also calls loadConfig directly, with environments of its own.
export { loadConfig };

// TODO 4: fail fast. Load the configuration before anything else; on a ConfigError print its message
// (no stack trace) and exit with code 78 (EX_CONFIG).
const config = loadConfig(process.env);

function log(level: LogLevel, message: string): void {
  if (logLevels.indexOf(level) >= logLevels.indexOf(config.logLevel)) console.log(`[${level}] ${message}`);
}

const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.dbPoolMax });
pool.on("error", (error) => log("warn", `idle Postgres connection failed: ${error.message}`));

const server = createServer((request, response) => {
  const origin = request.headers.origin;
  if (origin !== undefined && config.allowedOrigins.includes(origin)) {
    response.setHeader("access-control-allow-origin", origin);
    response.setHeader("vary", "origin");
  }
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  if (request.method === "GET" && path === "/config") {
    send(response, 200, redactConfig(config));
  } else if (request.method === "GET" && path === "/healthz") {
    pool.query("SELECT 1").then(
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
server.requestTimeout = config.requestTimeoutMs;
server.listen(config.port, () => log("info", `listening on port ${config.port}`));
log("debug", `configuration: ${JSON.stringify(redactConfig(config))}`);

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
