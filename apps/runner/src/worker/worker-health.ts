import { createServer } from "node:http";
import { once } from "node:events";
import type pg from "pg";
import { assertDockerReachable } from "../host/docker-reachable.ts";
import { type SandboxKind } from "../environments/environment-shape.ts";

interface Check {
  name: "database" | "docker";
  ok: boolean;
  detail: string;
}

/**
 * `labs worker --health-port`: /healthz answers while the process runs; /readyz when it can grade: the
 * platform database answers, and Docker does (unless the process sandbox needs none). An orchestrator
 * restarts a worker that stops being alive and sends no traffic anywhere anyway: readiness is for an
 * operator's dashboard and for the deploy that waits until new workers are ready.
 */
export async function serveWorkerHealth(options: {
  port: number;
  host: string;
  pool: pg.Pool;
  sandbox: SandboxKind;
}): Promise<AsyncDisposable & { port: number }> {
  const server = createServer((request, response) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
      response.end(`${JSON.stringify(body)}\n`);
    };
    if (request.method !== "GET") return reply(405, { error: "GET only" });
    if (request.url === "/healthz") return reply(200, { status: "alive" });
    if (request.url !== "/readyz") return reply(404, { error: "GET /healthz or /readyz" });
    void readiness(options).then(
      (checks) =>
        reply(checks.every((check) => check.ok) ? 200 : 503, { ready: checks.every((c) => c.ok), checks }),
      (error: Error) => reply(500, { error: error.message }),
    );
  });
  server.listen(options.port, options.host);
  await once(server, "listening");
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : options.port,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function readiness({ pool, sandbox }: { pool: pg.Pool; sandbox: SandboxKind }): Promise<Check[]> {
  const gaveUp = once(AbortSignal.timeout(2_000), "abort").then(() => {
    throw new Error("no answer within 2000 ms");
  });
  const database = await Promise.race([pool.query("SELECT 1"), gaveUp]).then(
    (): Check => ({ name: "database", ok: true, detail: "answers" }),
    (error: Error): Check => ({ name: "database", ok: false, detail: error.message }),
  );
  const docker: Check =
    sandbox === "process"
      ? { name: "docker", ok: true, detail: "not needed: process sandbox" }
      : await assertDockerReachable(2_000).then(
          (): Check => ({ name: "docker", ok: true, detail: "answers" }),
          (error: Error): Check => ({ name: "docker", ok: false, detail: error.message }),
        );
  return [database, docker];
}
