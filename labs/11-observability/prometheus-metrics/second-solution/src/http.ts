import { type IncomingMessage, type ServerResponse } from "node:http";
import { httpRequestDurationSeconds, httpRequestsInFlight, httpRequestsTotal, registry } from "./metrics.ts";

export type Handler = (
  request: IncomingMessage,
  response: ServerResponse,
  params: Record<string, string>,
) => Promise<void>;

export interface Route {
  method: string;
  /** A path template: "/orders/:id" matches "/orders/42" with params.id = "42". */
  path: string;
  handler: Handler;
}

/** The route label of requests no route matched: their paths are whatever clients send. */
const unmatched = "unmatched";

/** The route whose method and template match, and the values of the template's :params. */
export function matchRoute(
  routes: Route[],
  method: string,
  pathname: string,
): { route: Route; params: Record<string, string> } | undefined {
  const segments = pathname.split("/");
  for (const route of routes) {
    const template = route.path.split("/");
    if (route.method !== method || template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = template.every((part, i) => {
      const segment = segments[i]!;
      if (!part.startsWith(":")) return part === segment;
      if (segment === "") return false;
      params[part.slice(1)] = decodeURIComponent(segment);
      return true;
    });
    if (matches) return { route, params };
  }
  return undefined;
}

/** The request listener: GET /metrics, then every route. */
export function createApp(routes: Route[]): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const pathname = new URL(request.url ?? "/", "http://localhost").pathname;
    if (request.method === "GET" && pathname === "/metrics") {
      void serveMetrics(response);
      return;
    }
    void serve(routes, request, response, pathname);
  };
}

async function serve(
  routes: Route[],
  request: IncomingMessage,
  response: ServerResponse,
  pathname: string,
): Promise<void> {
  const start = process.hrtime.bigint();
  httpRequestsInFlight.inc();
  const method = request.method ?? "GET";
  let routeLabel = unmatched;
  try {
    const match = matchRoute(routes, method, pathname);
    if (!match) {
      send(response, 404, { error: "not found" });
      return;
    }
    routeLabel = match.route.path;
    await match.route.handler(request, response, match.params);
  } catch (error) {
    console.error(`request failed: ${method} ${pathname}: ${String(error)}`);
    if (!response.headersSent) send(response, 500, { error: "internal error" });
    else response.destroy();
  } finally {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const labels = { method, route: routeLabel, status_code: String(response.statusCode) };
    httpRequestsTotal.inc(labels);
    httpRequestDurationSeconds.observe(labels, seconds);
    httpRequestsInFlight.dec();
  }
}

async function serveMetrics(response: ServerResponse): Promise<void> {
  try {
    const body = await registry.metrics();
    response.writeHead(200, { "content-type": registry.contentType }).end(body);
  } catch (error) {
    console.error(`GET /metrics failed: ${String(error)}`);
    if (!response.headersSent) send(response, 500, { error: "internal error" });
    else response.destroy();
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
