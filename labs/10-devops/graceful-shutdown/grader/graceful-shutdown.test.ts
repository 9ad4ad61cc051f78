import { randomUUID } from "node:crypto";
import { Agent, type IncomingHttpHeaders, request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, expect, it } from "vitest";
import { learner, type LearnerInstance, postgres, startLearner, task, waitFor } from "@backend-labs/graders";

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

type LearnerStatus = Awaited<ReturnType<LearnerInstance["stop"]>>;

/** Processing time of a request that is in flight when SIGTERM arrives. */
const SLOW_MS = 600;
/** How long past SHUTDOWN_TIMEOUT_MS the grader lets a stopping process run before the runner SIGKILLs it. */
const KILL_AFTER_MS = 1_500;

/**
 * The settings of each shutdown scenario. A stopped copy of the server cannot be reused, so every
 * scenario gets a fresh one, all started up front in parallel.
 */
const scenarios = {
  readiness: { drainDelayMs: 800, shutdownTimeoutMs: 5_000 },
  inFlight: { drainDelayMs: 200, shutdownTimeoutMs: 3_000 },
  listener: { drainDelayMs: 200, shutdownTimeoutMs: 3_000 },
  deadline: { drainDelayMs: 200, shutdownTimeoutMs: 2_000 },
  deadlineFromSignal: { drainDelayMs: 1_000, shutdownTimeoutMs: 1_200 },
} as const;
type Scenario = keyof typeof scenarios;
const instances = new Map<Scenario, LearnerInstance>();

beforeAll(async () => {
  const names = Object.keys(scenarios) as Scenario[];
  const started = await Promise.all(
    names.map((name) =>
      startLearner({
        DRAIN_DELAY_MS: String(scenarios[name].drainDelayMs),
        SHUTDOWN_TIMEOUT_MS: String(scenarios[name].shutdownTimeoutMs),
      }),
    ),
  );
  names.forEach((name, i) => {
    const instance = started[i];
    if (instance) instances.set(name, instance);
  });
});

/** The scenario's copy of the server and its settings; `stop()` sends it SIGTERM. */
function scenario(name: Scenario) {
  const instance = instances.get(name);
  if (!instance) throw new Error(`no server was started for the ${name} scenario`);
  const settings = scenarios[name];
  return { instance, ...settings, stop: () => instance.stop(settings.shutdownTimeoutMs + KILL_AFTER_MS) };
}

const newOrderId = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;

/**
 * One HTTP request to an instance. With no agent each request gets a connection of its own that closes
 * after the response; pass a keep-alive agent to behave like a load balancer that reuses connections.
 */
function call(
  instance: LearnerInstance,
  method: "GET" | "POST",
  path: string,
  options: { body?: unknown; agent?: Agent; timeoutMs?: number } = {},
): Promise<Reply> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      instance.url(path),
      {
        method,
        agent: options.agent ?? false,
        timeout: options.timeoutMs ?? 15_000,
        headers: payload === undefined ? {} : { "content-type": "application/json" },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        response.on("error", reject);
      },
    );
    outgoing.on("timeout", () => outgoing.destroy(new Error("no response in time")));
    outgoing.on("error", reject);
    outgoing.end(payload);
  });
}

const postOrder = (instance: LearnerInstance, orderId: string, processingMs: number, agent?: Agent) =>
  call(instance, "POST", "/orders", { body: { orderId, processingMs }, ...(agent && { agent }) });

async function settle<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  try {
    return { status: "fulfilled", value: await promise };
  } catch (reason) {
    return { status: "rejected", reason };
  }
}

/** What a request ended as, in words a learner can act on. */
function outcomeText(outcome: PromiseSettledResult<Reply>): string {
  if (outcome.status === "fulfilled") return `${outcome.value.status} ${outcome.value.body}`;
  const error = outcome.reason as NodeJS.ErrnoException;
  return `no response (${error.code ?? error.message})`;
}

/**
 * Whether the instance still serves a request on a new connection. A closed listener refuses the
 * connection or, behind a proxy that accepts it first, the connection ends without an HTTP response.
 */
async function servesNewConnections(instance: LearnerInstance): Promise<boolean> {
  return (await settle(call(instance, "GET", "/healthz", { timeoutMs: 1_000 }))).status === "fulfilled";
}

async function committedOrders(ids: string[]): Promise<string[]> {
  const { rows } = await postgres().query<{ id: string }>(
    "SELECT id FROM orders WHERE id = ANY($1::text[]) ORDER BY id",
    [ids],
  );
  return rows.map((row) => row.id);
}

async function postgresNow(): Promise<Date> {
  const { rows } = await postgres().query<{ now: Date }>("SELECT clock_timestamp() AS now");
  return rows[0]?.now ?? new Date(0);
}

/**
 * Waits until `count` requests started after `since` are inside their pg_sleep, i.e. truly in flight when
 * the grader sends SIGTERM. Returns how many were seen.
 */
async function waitUntilInFlight(since: Date, count: number): Promise<number> {
  return (await waitUntilSleeping(since, count)).length;
}

/** Like waitUntilInFlight, but returns the Postgres backend pids of the sleeping requests. */
async function waitUntilSleeping(since: Date, count: number): Promise<number[]> {
  const deadline = Date.now() + 5_000;
  let pids: number[] = [];
  while (Date.now() < deadline) {
    const { rows } = await postgres().query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE wait_event = 'PgSleep' AND state = 'active' AND query_start >= $1`,
      [since],
    );
    pids = rows.map((row) => row.pid);
    if (pids.length >= count) break;
    await sleep(20);
  }
  return pids;
}

/**
 * Sessions of the lab database that ended because the client vanished without the protocol's Terminate
 * message (a process that exits with its pool still open), as opposed to a client that said goodbye.
 */
async function abandonedSessions(): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    "SELECT sessions_abandoned::int AS n FROM pg_stat_database WHERE datname = current_database()",
  );
  return rows[0]?.n ?? 0;
}

async function backendsAlive(pids: number[]): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])",
    [pids],
  );
  return rows[0]?.n ?? 0;
}

async function startInFlight(instance: LearnerInstance, ids: string[], agent?: Agent) {
  const since = await postgresNow();
  const requests = ids.map((id) => postOrder(instance, id, SLOW_MS, agent));
  // Settle them now, so an early failure does not become an unhandled rejection.
  const outcomes = Promise.allSettled(requests);
  const pids = await waitUntilSleeping(since, ids.length);
  const seen = pids.length;
  expect(
    seen,
    `the grader sent ${ids.length} POST /orders with processingMs ${SLOW_MS} and expected each to be running ` +
      "SELECT pg_sleep(...) in Postgres, as the README requires; only this many were seen",
  ).toBe(ids.length);
  // Wrapped: returning the promise itself from this async function would wait for it.
  return { outcomes, pids };
}

function explainExit(status: LearnerStatus, expectedCode: number): string {
  // The grace period the runner gave before SIGKILL is not known here; name the rule instead.
  if (status.signal === "SIGTERM") {
    return "your process was killed by SIGTERM itself: without a SIGTERM handler Node exits at once, dropping every request in flight";
  }
  if (status.signal === "SIGKILL") {
    return "your process was still running well after SHUTDOWN_TIMEOUT_MS, so the runner had to SIGKILL it, as Kubernetes does after its grace period. Something kept it alive: end with process.exit(), and give up at the deadline";
  }
  return `your process exited with code ${status.exitCode}; after this shutdown it must exit with code ${expectedCode}`;
}

task(1, "Report liveness and readiness", () => {
  it("GET /healthz and GET /readyz answer 200 while the service runs, and POST /orders commits an order", async () => {
    const instance = learner();
    const health = await call(instance, "GET", "/healthz");
    expect(health.status, "GET /healthz must answer 200 while the process is alive").toBe(200);
    const ready = await call(instance, "GET", "/readyz");
    expect(ready.status, "GET /readyz must answer 200 while the service takes traffic").toBe(200);

    const orderId = newOrderId("order");
    const created = await postOrder(instance, orderId, 0);
    expect(created.status, `POST /orders {"orderId": "${orderId}", "processingMs": 0} must answer 201`).toBe(
      201,
    );
    expect(await committedOrders([orderId]), "the order must be committed to the orders table").toEqual([
      orderId,
    ]);
  });
});

task(2, "On SIGTERM, fail readiness but keep serving for the drain delay", () => {
  it("after SIGTERM /readyz answers 503, /healthz still answers 200, and new requests are still served", async () => {
    const { instance, drainDelayMs, stop } = scenario("readiness");
    expect((await call(instance, "GET", "/readyz")).status, "GET /readyz answers 200 before SIGTERM").toBe(
      200,
    );

    const sentAt = Date.now();
    const stopping = stop();
    // Poll (in the first half of the drain delay) until the answer is something else than 200: 503 is
    // right, a refused connection is not.
    let ready = await settle(call(instance, "GET", "/readyz"));
    while (
      ready.status === "fulfilled" &&
      ready.value.status === 200 &&
      Date.now() - sentAt < drainDelayMs / 2
    ) {
      await sleep(10);
      ready = await settle(call(instance, "GET", "/readyz"));
    }
    expect(
      ready.status,
      `GET /readyz after SIGTERM got ${outcomeText(ready)}. With DRAIN_DELAY_MS=${drainDelayMs} the server must ` +
        "keep accepting connections for that long after SIGTERM, answering /readyz with 503, so that the load " +
        "balancer notices and stops sending traffic before the port closes",
    ).toBe("fulfilled");
    expect(
      outcomeText(ready),
      `GET /readyz still answered 200 ${drainDelayMs / 2} ms after SIGTERM: set a shutting-down flag as soon as SIGTERM ` +
        "arrives and answer /readyz with 503 from then on",
    ).toMatch(/^503 /);

    const agent = new Agent({ keepAlive: true });
    const health = await settle(call(instance, "GET", "/healthz", { agent }));
    expect(
      outcomeText(health),
      "GET /healthz must keep answering 200 during the drain: the process is alive and well, only leaving. A " +
        "failing liveness probe makes the orchestrator kill and restart it",
    ).toMatch(/^200 /);
    expect(
      health.status === "fulfilled" ? health.value.headers.connection : undefined,
      "GET /healthz on a keep-alive connection during the shutdown was answered without `Connection: close`: " +
        "every response sent after SIGTERM (probes included, not only orders) must carry it, so that a client " +
        "reusing connections opens its next one to another instance",
    ).toBe("close");

    const orderId = newOrderId("during-drain");
    const created = await settle(postOrder(instance, orderId, 0, agent));
    agent.destroy();
    expect(
      outcomeText(created),
      "a request that arrives during the drain delay (the load balancer has not noticed yet) must still be " +
        "served with 201: keep the listener open and the Postgres pool usable until the drain delay is over",
    ).toMatch(/^201 /);
    expect(await committedOrders([orderId]), "the order accepted during the drain must be committed").toEqual(
      [orderId],
    );
    expect(
      created.status === "fulfilled" ? created.value.headers.connection : undefined,
      "a response sent during the shutdown must carry `Connection: close`, so that a load balancer reusing " +
        "connections opens its next one to another instance instead of sending it here",
    ).toBe("close");

    const status = await stopping;
    const elapsed = Date.now() - sentAt;
    expect(
      status.exitCode === 0 && status.signal === null,
      `with nothing in flight the shutdown is clean: ${explainExit(status, 0)}`,
    ).toBe(true);
    expect(
      elapsed,
      `with nothing in flight the process must exit right after the drain delay (${drainDelayMs} ms), not ${elapsed} ms after SIGTERM`,
    ).toBeLessThan(drainDelayMs + 1_500);
  });
});

task(3, "Finish in-flight requests, close the pool and exit 0", () => {
  it("requests in flight at SIGTERM on keep-alive connections finish with 201 and Connection: close, are committed, and the process ends the pool and exits 0 right after", async () => {
    const { instance, drainDelayMs, stop } = scenario("inFlight");
    // A load balancer keeps its connections to the backend open between requests.
    const agent = new Agent({ keepAlive: true });
    try {
      const ids = [newOrderId("inflight"), newOrderId("inflight"), newOrderId("inflight")];
      const { outcomes, pids } = await startInFlight(instance, ids, agent);
      const abandonedBefore = await abandonedSessions();
      const sentAt = Date.now();
      const status = await stop();
      const elapsed = Date.now() - sentAt;
      const replies = await outcomes;

      replies.forEach((outcome, i) => {
        expect(
          outcomeText(outcome),
          `order ${ids[i]} was in flight when SIGTERM arrived and must still be answered 201: wait for ` +
            "in-flight requests (server.close() does) before closing the pool and exiting",
        ).toMatch(/^201 /);
        expect(
          outcome.status === "fulfilled" ? outcome.value.headers.connection : undefined,
          `order ${ids[i]} started before SIGTERM on a keep-alive connection and was answered after it without ` +
            "`Connection: close`. The README asks it of every response sent after SIGTERM, whenever its request " +
            "arrived: decide the header when the response is written, not when the request comes in",
        ).toBe("close");
      });
      expect(
        await committedOrders(ids),
        "every order whose request was in flight at SIGTERM must be committed",
      ).toEqual([...ids].sort());
      expect(
        elapsed,
        `the process exited ${elapsed} ms after SIGTERM, but its last request was done after about ` +
          `${SLOW_MS} ms. Node's server.close() waits for every open connection, and keep-alive connections stay ` +
          "open for keepAliveTimeout after their response: answer with `Connection: close` once shutting down " +
          "(or close idle connections), so close() can finish",
      ).toBeLessThan(SLOW_MS + drainDelayMs + 1_500);
      expect(status.exitCode === 0 && status.signal === null, explainExit(status, 0)).toBe(true);

      // pool.end() says goodbye on each connection (the protocol's Terminate message); a process that exits
      // with its pool open just drops them, which Postgres counts in pg_stat_database.sessions_abandoned.
      expect(
        await waitFor(async () => (await backendsAlive(pids)) === 0, 5_000),
        "the Postgres connections that served the requests in flight were still open 5 s after the process exited",
      ).toBe(true);
      await waitFor(async () => (await abandonedSessions()) > abandonedBefore, 1_000);
      const abandoned = (await abandonedSessions()) - abandonedBefore;
      expect(
        abandoned,
        `the process exited 0 but Postgres saw ${abandoned} of its connections dropped without a goodbye: end ` +
          "the Postgres pool (await pool.end()) after the last request and before process.exit(0), so each " +
          "connection is closed cleanly instead of being cut by the exit",
      ).toBe(0);
    } finally {
      agent.destroy();
    }
  });
});

task(4, "Stop accepting new connections after the drain delay", () => {
  it("once the drain delay is over, new connections are refused while the request in flight finishes", async () => {
    const { instance, drainDelayMs, stop } = scenario("listener");
    const orderId = newOrderId("last");
    const { outcomes } = await startInFlight(instance, [orderId]);
    let inFlight = true;
    void outcomes.then(() => (inFlight = false));

    const sentAt = Date.now();
    const stopping = stop();
    // Probe with fresh connections until one is refused, while the request is still running.
    let refusedAfter: number | undefined;
    while (inFlight && Date.now() - sentAt < SLOW_MS * 2) {
      if (!(await servesNewConnections(instance))) {
        refusedAfter = Date.now() - sentAt;
        break;
      }
      await sleep(25);
    }
    const refusedWhileInFlight = refusedAfter !== undefined && inFlight;
    const [reply] = await outcomes;
    const replyText = reply ? outcomeText(reply) : "nothing";
    expect(
      refusedWhileInFlight || refusedAfter !== undefined || replyText.startsWith("201 "),
      `the request in flight ended with ${replyText} while the server still accepted new connections: after the ` +
        "drain delay close the listener, and let the requests already running finish",
    ).toBe(true);
    expect(
      refusedWhileInFlight,
      `after the drain delay (${drainDelayMs} ms) the server must stop accepting connections, even while a ` +
        "request is still in flight: close the listener (server.close()). A server that keeps accepting lets " +
        "new work pile onto a process that is about to go away",
    ).toBe(true);
    expect(
      refusedAfter,
      `new connections were refused ${refusedAfter} ms after SIGTERM: they must be accepted during the whole ` +
        `drain delay of ${drainDelayMs} ms`,
    ).toBeGreaterThanOrEqual(drainDelayMs - 50);

    expect(
      replyText,
      "the request in flight must still finish with 201 after the listener is closed",
    ).toMatch(/^201 /);
    const status = await stopping;
    expect(status.exitCode === 0 && status.signal === null, explainExit(status, 0)).toBe(true);
  });
});

task(5, "Give up at the deadline", () => {
  it("at SHUTDOWN_TIMEOUT_MS the request that cannot finish is cut off (no response, not committed), the one that could is kept, and the process logs it and exits 1", async () => {
    const { instance, shutdownTimeoutMs, stop } = scenario("deadline");
    const quickId = newOrderId("quick");
    const stuckId = newOrderId("stuck");
    const since = await postgresNow();
    const quick = settle(postOrder(instance, quickId, 400));
    const stuck = settle(postOrder(instance, stuckId, 8_000));
    expect(
      await waitUntilInFlight(since, 2),
      "POST /orders with processingMs 400 and 8000 must both be running their pg_sleep in Postgres",
    ).toBe(2);

    const sentAt = Date.now();
    const stopping = stop();
    // Once the quick request is answered nothing but the deadline is left to happen before the exit: what the
    // process prints from then on is its deadline log.
    await quick;
    await sleep(100);
    const printedBefore = (await instance.output()).length;
    const printedBeforeAt = Date.now() - sentAt;
    const status = await stopping;
    const elapsed = Date.now() - sentAt;
    expect(
      status.signal,
      `a request needs 8 s but the shutdown may take ${shutdownTimeoutMs} ms: ${explainExit(status, 1)}. Start a ` +
        "timer at SIGTERM that exits when SHUTDOWN_TIMEOUT_MS is up, whatever is still running",
    ).toBe(null);
    expect(
      status.exitCode,
      "a shutdown that had to cut requests off must exit with code 1, so that the orchestrator's logs show it",
    ).toBe(1);
    expect(
      elapsed,
      `the process exited ${elapsed} ms after SIGTERM: it must be gone within SHUTDOWN_TIMEOUT_MS (${shutdownTimeoutMs} ms)`,
    ).toBeLessThan(shutdownTimeoutMs + 1_000);
    expect(
      outcomeText(await quick),
      "the 400 ms request finished well before the deadline and must have been answered 201",
    ).toMatch(/^201 /);
    const stuckText = outcomeText(await stuck);
    expect(stuckText, "the request cut off at the deadline cannot have succeeded").not.toMatch(/^201 /);
    expect(
      stuckText,
      `the request cut off at the deadline was answered ${stuckText}: a cut-off request gets no response. ` +
        "Close its connection (or let process.exit() do it) instead of answering, so the client sees the " +
        "failure for what it is",
    ).toMatch(/^no response/);
    expect(
      await committedOrders([quickId, stuckId]),
      "the order that finished in time must be committed, the cut-off one must not: its transaction dies with " +
        "the process's connection",
    ).toEqual([quickId]);
    // Only judged when the grader looked well before the deadline (a loaded machine can delay it).
    if (printedBeforeAt < shutdownTimeoutMs - 300) {
      const logged = await waitFor(async () => (await instance.output()).length > printedBefore, 2_000);
      expect(
        logged,
        "the process printed nothing between the last request finishing and its exit at the deadline: log " +
          "that the deadline was reached and requests are being cut off (console.error), so that whoever " +
          "reads the logs after a deploy knows why those requests failed",
      ).toBe(true);
    }
  });

  it("the deadline counts from SIGTERM, drain delay included, as the orchestrator's grace period does", async () => {
    const { instance, drainDelayMs, shutdownTimeoutMs, stop } = scenario("deadlineFromSignal");
    const since = await postgresNow();
    const stuck = settle(postOrder(instance, newOrderId("stuck"), 8_000));
    expect(await waitUntilInFlight(since, 1), "POST /orders with processingMs 8000 must be in flight").toBe(
      1,
    );

    const sentAt = Date.now();
    const status = await stop();
    const elapsed = Date.now() - sentAt;
    await stuck;
    expect(status.signal, explainExit(status, 1)).toBe(null);
    expect(
      elapsed,
      `with DRAIN_DELAY_MS=${drainDelayMs} and SHUTDOWN_TIMEOUT_MS=${shutdownTimeoutMs} the process exited ` +
        `${elapsed} ms after SIGTERM. Kubernetes' grace period starts at the signal: a deadline timer started ` +
        "only after the drain delay fires too late, when SIGKILL may already have come",
    ).toBeLessThan(shutdownTimeoutMs + drainDelayMs / 2);
    expect(status.exitCode, "a shutdown that had to cut a request off exits with code 1").toBe(1);
  });
});
