import { randomBytes, timingSafeEqual } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type AddressInfo } from "node:net";
import {
  type HungReport,
  type StartLearnerRequest,
  type StopLearnerRequest,
} from "@backend-labs/graders/control-protocol";
import { type LearnerProcesses, LearnerStartError } from "./learner-processes.ts";

export interface ControlServer extends AsyncDisposable {
  url: string;
  token: string;
}

/**
 * The runner's side of the control protocol: grader suites (in vitest workers) ask it to start, stop and
 * inspect learner processes. Loopback only, and every request carries a per-grade secret.
 */
export async function startControlServer(learners: LearnerProcesses): Promise<ControlServer> {
  const token = randomBytes(24).toString("hex");
  const expected = Buffer.from(`Bearer ${token}`);
  const server = createServer((request, response) => {
    const given = Buffer.from(request.headers.authorization ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      send(response, 401, { error: "unauthorized" });
      return;
    }
    route(learners, request, response).catch((error: unknown) => {
      const status = error instanceof LearnerStartError ? 409 : 500;
      send(response, status, { error: (error as Error).message });
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    [Symbol.asyncDispose]: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

async function route(
  learners: LearnerProcesses,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? "/", "http://control");
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const method = request.method ?? "GET";

  if (method === "GET" && url.pathname === "/output") {
    const since = Number(url.searchParams.get("since") ?? 0);
    const learnerId = url.searchParams.get("learner") ?? undefined;
    if (url.searchParams.get("settle") === "1") await learners.settleOutput();
    send(response, 200, { cursor: learners.output.cursor, text: learners.output.since(since, learnerId) });
    return;
  }
  if (method === "GET" && url.pathname === "/mutant-coverage") {
    send(response, 200, await learners.mutantCoverage());
    return;
  }
  if (method === "POST" && url.pathname === "/learners") {
    const body = (await readJson(request)) as StartLearnerRequest;
    send(response, 200, await learners.start(body.env ?? {}));
    return;
  }
  const [collection, id, action] = parts;
  if (collection !== "learners" || id === undefined || !learners.has(id)) {
    send(response, 404, { error: `no such route or learner: ${method} ${url.pathname}` });
    return;
  }
  if (method === "GET" && action === undefined) {
    send(response, 200, learners.status(id));
  } else if (method === "POST" && action === "stop") {
    const body = (await readJson(request)) as StopLearnerRequest;
    send(response, 200, await learners.stop(id, body.signal, body.graceMs ?? 5_000));
  } else if (method === "POST" && action === "hung") {
    const body = (await readJson(request)) as HungReport;
    send(response, 200, await learners.markHung(id, body.fn));
  } else {
    send(response, 404, { error: `no such route: ${method} ${url.pathname}` });
  }
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  let text = "";
  for await (const chunk of request as AsyncIterable<Buffer>) text += chunk.toString("utf8");
  return text ? JSON.parse(text) : {};
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
