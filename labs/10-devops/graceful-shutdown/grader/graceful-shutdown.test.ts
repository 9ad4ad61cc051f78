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

/** Processing time (pg_sleep) of a request the grader holds in flight, once it lets it go on. */
const SLOW_MS = 300;
/** Processing time of a request that cannot finish before any deadline of these scenarios. */
const STUCK_MS = 10_000;
/**
 * How long past SHUTDOWN_TIMEOUT_MS the grader lets a stopping process run before the runner SIGKILLs it.
 * The runner starts counting once SIGTERM is delivered, so this only has to absorb a slow machine.
 */
const KILL_AFTER_MS = 3_000;

/**
 * The settings of each shutdown scenario. A stopped copy of the server cannot be reused, so every
 * scenario gets a fresh one, all started up front in parallel. The grader never relies on a few hundred
 * milliseconds of scheduling: requests stay in flight because the grader holds a lock they wait for, and
 * times are measured from what the grader itself saw.
 */
const scenarios = {
  readiness: { drainDelayMs: 3_000, shutdownTimeoutMs: 8_000 },
  inFlight: { drainDelayMs: 200, shutdownTimeoutMs: 6_000 },
  listener: { drainDelayMs: 1_000, shutdownTimeoutMs: 8_000 },
  deadline: { drainDelayMs: 200, shutdownTimeoutMs: 4_000 },
  // The deadline just after the drain delay: a timer started when draining ends fires a whole drain delay late.
  deadlineFromSignal: { drainDelayMs: 3_000, shutdownTimeoutMs: 3_200 },
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

/** The scenario's copy of the server and its settings; `stop()` sends it SIGTERM and resolves at its exit. */
function scenario(name: Scenario) {
  const instance = instances.get(name);
  if (!instance) throw new Error(`no server was started for the ${name} scenario`);
  const settings = scenarios[name];
  return { instance, ...settings, stop: () => instance.stop(settings.shutdownTimeoutMs + KILL_AFTER_MS) };
}

/** Sends SIGTERM; `exitedAt` is set as soon as the grader learns that the process is gone. */
function sendSigterm(stop: () => Promise<LearnerStatus>) {
  const sentAt = Date.now();
  let exitedAt: number | undefined;
  const stopping = stop().then((status) => {
    exitedAt = Date.now();
    return status;
  });
  return { sentAt, stopping, exitedAt: () => exitedAt ?? Date.now() };
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
  options: { body?: unknown; rawBody?: string; agent?: Agent; timeoutMs?: number } = {},
): Promise<Reply> {
  const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
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

const connectionHeader = (outcome: PromiseSettledResult<Reply>): string | undefined =>
  outcome.status === "fulfilled" ? outcome.value.headers.connection : undefined;

/**
 * Whether the instance still serves a request on a new connection. A closed listener refuses the
 * connection or, behind a proxy that accepts it first, the connection ends without an HTTP response.
 */
async function servesNewConnections(instance: LearnerInstance): Promise<boolean> {
  return (await settle(call(instance, "GET", "/healthz", { timeoutMs: 2_000 }))).status === "fulfilled";
}

/** The `orderId` of a JSON reply body, or undefined when the body is not JSON or has none. */
function replyOrderId(reply: Reply): unknown {
  try {
    return (JSON.parse(reply.body) as { orderId?: unknown } | null)?.orderId;
  } catch {
    return undefined;
  }
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

/** How many requests started after `since` are inside their pg_sleep right now. */
async function sleepingSince(since: Date): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE wait_event = 'PgSleep' AND state = 'active' AND query_start >= $1`,
    [since],
  );
  return rows[0]?.n ?? 0;
}

/** The Postgres backends of the lab database that are waiting for a lock (the requests the grader holds). */
async function lockWaiterPids(): Promise<number[]> {
  const { rows } = await postgres().query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND wait_event_type = 'Lock'`,
  );
  return rows.map((row) => row.pid);
}

/**
 * Keeps requests for these order ids in flight for as long as the grader wants: a grader transaction
 * inserts the same ids first, so the learner's INSERT waits on the primary key until `release()` rolls
 * that transaction back. Then each request goes on as usual (INSERT, pg_sleep, COMMIT, 201).
 */
async function holdOrders(ids: string[]) {
  const client = await postgres().connect();
  let released = false;
  await client.query("BEGIN");
  await client.query("INSERT INTO orders (id, processing_ms) SELECT unnest($1::text[]), 0", [ids]);
  return {
    release: async () => {
      if (released) return;
      released = true;
      await client.query("ROLLBACK").catch(() => undefined);
      client.release();
    },
  };
}

/**
 * Sends POST /orders for `ids` while the grader holds their ids, and waits until every one of them is in
 * flight, queued behind the grader's lock inside its transaction.
 */
async function startHeldOrders(instance: LearnerInstance, ids: string[], agent?: Agent) {
  const hold = await holdOrders(ids);
  const requests = ids.map((id) => postOrder(instance, id, SLOW_MS, agent));
  // Settle them now, so an early failure does not become an unhandled rejection.
  const outcomes = Promise.allSettled(requests);
  const queued = await waitFor(async () => (await lockWaiterPids()).length >= ids.length, 10_000);
  const pids = await lockWaiterPids();
  return { hold, outcomes, queued, pids };
}

function expectQueued(queued: boolean, count: number): void {
  expect(
    queued,
    `the grader sent ${count} POST /orders and expected each to reach its INSERT in Postgres, as the starter's ` +
      "createOrder does (the grader holds those ids, so the INSERTs wait for it): they did not within 10 s. " +
      "Keep the starter's createOrder and let POST /orders run normally before any SIGTERM",
  ).toBe(true);
}

/** What the grader saw of a shutdown beginning, through GET /readyz on new keep-alive connections. */
interface ShutdownSeen {
  /** When the grader sent the last probe still answered as before SIGTERM; SIGTERM was handled after it. */
  lastServingAt: number;
  /** The first answer that showed the shutdown; undefined when none did in time. */
  first?: PromiseSettledResult<Reply>;
  /** When that answer came. */
  seenAt: number;
}

/**
 * Polls GET /readyz, each time on a new keep-alive connection, until the answer shows that a shutdown has
 * begun: a 503, a `Connection: close`, or no answer at all. Anything else is taken as "SIGTERM not
 * handled yet", so this also works for a server whose /readyz is missing.
 */
async function watchShutdown(
  instance: LearnerInstance,
  sentAt: number,
  limitMs: number,
): Promise<ShutdownSeen> {
  let lastServingAt = sentAt;
  while (Date.now() - sentAt < limitMs) {
    const askedAt = Date.now();
    const agent = new Agent({ keepAlive: true });
    const outcome = await settle(call(instance, "GET", "/readyz", { agent, timeoutMs: 2_000 }));
    agent.destroy();
    const serving =
      outcome.status === "fulfilled" &&
      outcome.value.status !== 503 &&
      outcome.value.headers.connection !== "close";
    if (!serving) return { lastServingAt, first: outcome, seenAt: Date.now() };
    lastServingAt = askedAt;
    await sleep(20);
  }
  return { lastServingAt, seenAt: Date.now() };
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
    expect(
      replyOrderId(created),
      `POST /orders answered 201 ${created.body}: the README promises \`201 {"orderId": ...}\`, the id of the ` +
        "order it created, as the starter's createOrder sends it",
    ).toBe(orderId);
    expect(await committedOrders([orderId]), "the order must be committed to the orders table").toEqual([
      orderId,
    ]);
  });

  it("POST /orders answers 400 for a bad body and 409 for an id that exists, and the next order is served normally", async () => {
    const instance = learner();
    // Ids of the bad bodies that carry one: none of them may end up as an order.
    const badIds = [newOrderId("bad"), newOrderId("bad"), newOrderId("bad")];
    const badBodies: { what: string; body: string }[] = [
      { what: "a body that is not JSON", body: "{not json" },
      { what: "no orderId", body: JSON.stringify({ processingMs: 0 }) },
      { what: "an orderId that is not a string", body: JSON.stringify({ orderId: 42, processingMs: 0 }) },
      { what: "no processingMs", body: JSON.stringify({ orderId: badIds[0] }) },
      {
        what: "a processingMs that is not a number",
        body: JSON.stringify({ orderId: badIds[1], processingMs: "fast" }),
      },
      {
        what: "a processingMs that is not a whole number (processing_ms is an integer column)",
        body: JSON.stringify({ orderId: badIds[2], processingMs: 1.5 }),
      },
    ];
    for (const { what, body } of badBodies) {
      const reply = await call(instance, "POST", "/orders", { rawBody: body });
      expect(
        `${reply.status} ${reply.body}`,
        `POST /orders with ${what} (${body}) must answer 400: the README promises 400 for a bad body, and the ` +
          "starter's createOrder checks the body before it touches Postgres. Keep those checks when you change " +
          "server.ts",
      ).toMatch(/^400 /);
    }
    expect(await committedOrders(badIds), "a body answered 400 must not create an order").toEqual([]);

    const orderId = newOrderId("twice");
    const first = await postOrder(instance, orderId, 0);
    expect(`${first.status} ${first.body}`, `the first POST /orders for ${orderId} must answer 201`).toMatch(
      /^201 /,
    );
    const again = await postOrder(instance, orderId, 0);
    expect(
      `${again.status} ${again.body}`,
      `POST /orders again with orderId ${orderId}, which exists now, must answer 409: the INSERT fails with ` +
        "Postgres' unique violation (code 23505), and the starter's createOrder turns it into a 409",
    ).toMatch(/^409 /);
    const nextId = newOrderId("after-409");
    const next = await postOrder(instance, nextId, 0);
    expect(
      `${next.status} ${next.body}`,
      "the order sent right after the 409 must be served normally (201). Its request most likely got the " +
        "pool connection the failed INSERT used: roll the failed transaction back before that connection goes " +
        'back to the pool, or every later request on it fails with "current transaction is aborted"',
    ).toMatch(/^201 /);
    expect(
      await committedOrders([orderId, nextId]),
      "both orders answered 201 must be committed, each once",
    ).toEqual([orderId, nextId].sort());
  });
});

task(2, "On SIGTERM, fail readiness but keep serving for the drain delay", () => {
  it("after SIGTERM /readyz answers 503, /healthz still answers 200, and new requests are still served", async () => {
    const { instance, drainDelayMs, stop } = scenario("readiness");
    // A load balancer reuses its connections to the backend (keep-alive) while the instance is serving.
    const reusing = new Agent({ keepAlive: true });
    const readyBefore = await settle(call(instance, "GET", "/readyz", { agent: reusing }));
    reusing.destroy();
    expect(outcomeText(readyBefore), "GET /readyz answers 200 before SIGTERM").toMatch(/^200 /);
    expect(
      connectionHeader(readyBefore),
      "GET /readyz on a keep-alive connection before SIGTERM was answered with `Connection: close`. The header " +
        "belongs to the responses sent after SIGTERM: until then the load balancer keeps reusing its " +
        "connections, and closing each one after a single request costs every request a new TCP connection",
    ).not.toBe("close");

    const { sentAt, stopping, exitedAt } = sendSigterm(stop);
    // Whatever /readyz answers first once the shutdown shows must be a 503: not a refused connection, not a 200.
    const seen = await watchShutdown(instance, sentAt, drainDelayMs + 5_000);
    expect(
      seen.first !== undefined,
      `GET /readyz still answered 200 ${seen.seenAt - sentAt} ms after the grader sent SIGTERM: handle SIGTERM ` +
        '(process.on("SIGTERM", ...)) and answer /readyz with 503 from then on',
    ).toBe(true);
    const first: PromiseSettledResult<Reply> = seen.first ?? {
      status: "rejected",
      reason: new Error("no answer"),
    };
    expect(
      outcomeText(first),
      `after answering 200 the server went straight to ${outcomeText(first)} for GET /readyz on a new ` +
        `connection. With DRAIN_DELAY_MS=${drainDelayMs} it must keep accepting connections that long after ` +
        "SIGTERM, answering /readyz with 503, so that the load balancer notices and stops sending traffic " +
        "before the port closes",
    ).not.toMatch(/^no response/);
    expect(
      outcomeText(first),
      `after SIGTERM GET /readyz answered ${outcomeText(first)}` +
        (connectionHeader(first) === "close"
          ? " (with `Connection: close`, so the shutdown had begun)"
          : "") +
        ": set a shutting-down flag as soon as SIGTERM arrives and answer /readyz with 503 from then on",
    ).toMatch(/^503 /);

    const agent = new Agent({ keepAlive: true });
    const health = await settle(call(instance, "GET", "/healthz", { agent }));
    expect(
      outcomeText(health),
      `GET /healthz, sent at most ${Date.now() - seen.lastServingAt} ms after SIGTERM arrived, must answer 200 ` +
        "during the drain: the process is alive and well, only leaving. A failing liveness probe makes the " +
        "orchestrator kill and restart it",
    ).toMatch(/^200 /);
    expect(
      connectionHeader(health),
      "GET /healthz on a keep-alive connection during the shutdown was answered without `Connection: close`: " +
        "every response sent after SIGTERM (probes included, not only orders) must carry it, so that a client " +
        "reusing connections opens its next one to another instance",
    ).toBe("close");

    const orderId = newOrderId("during-drain");
    const orderSentAfter = Date.now() - seen.lastServingAt;
    const created = await settle(postOrder(instance, orderId, 0, agent));
    agent.destroy();
    expect(
      outcomeText(created),
      `POST /orders, sent at most ${orderSentAfter} ms after SIGTERM arrived (DRAIN_DELAY_MS=${drainDelayMs}), ` +
        "must still be served with 201: the load balancer has not noticed the 503 yet. Keep the listener open " +
        "and the Postgres pool usable until the drain delay is over",
    ).toMatch(/^201 /);
    expect(await committedOrders([orderId]), "the order accepted during the drain must be committed").toEqual(
      [orderId],
    );
    expect(
      connectionHeader(created),
      "a response sent during the shutdown must carry `Connection: close`, so that a load balancer reusing " +
        "connections opens its next one to another instance instead of sending it here",
    ).toBe("close");

    const status = await stopping;
    expect(
      status.exitCode === 0 && status.signal === null,
      `with nothing in flight the shutdown is clean: ${explainExit(status, 0)}`,
    ).toBe(true);
    // Measured from the last answer the grader saw before SIGTERM arrived: at least as long as the shutdown took.
    const took = exitedAt() - seen.lastServingAt;
    expect(
      took,
      `with nothing in flight the process took about ${took} ms from SIGTERM to its exit: it must exit right ` +
        `after the drain delay (${drainDelayMs} ms), not when some idle timeout fires. Once server.close() is ` +
        "done, end the pool and call process.exit(0)",
    ).toBeLessThan(drainDelayMs + 2_500);
  });
});

task(3, "Finish in-flight requests, close the pool and exit 0", () => {
  it("requests in flight at SIGTERM on keep-alive connections finish with 201 and Connection: close, are committed, and the process ends the pool and exits 0 right after", async () => {
    const { instance, stop } = scenario("inFlight");
    // A load balancer keeps its connections to the backend open between requests.
    const agent = new Agent({ keepAlive: true });
    const ids = [newOrderId("inflight"), newOrderId("inflight"), newOrderId("inflight")];
    const { hold, outcomes, queued, pids } = await startHeldOrders(instance, ids, agent);
    try {
      expectQueued(queued, ids.length);
      const abandonedBefore = await abandonedSessions();
      const { sentAt, stopping, exitedAt } = sendSigterm(stop);
      // The requests go on only once the server shows that its shutdown has begun, so they are answered after it.
      await watchShutdown(instance, sentAt, 10_000);
      await hold.release();
      const replies = await outcomes;
      const repliedAt = Date.now();
      const status = await stopping;

      replies.forEach((outcome, i) => {
        expect(
          outcomeText(outcome),
          `order ${ids[i]} was in flight when SIGTERM arrived and must still be answered 201: wait for ` +
            "in-flight requests (server.close() does) before closing the pool and exiting",
        ).toMatch(/^201 /);
        expect(
          connectionHeader(outcome),
          `order ${ids[i]} started before SIGTERM on a keep-alive connection and was answered after it without ` +
            "`Connection: close`. The README asks it of every response sent after SIGTERM, whenever its request " +
            "arrived: decide the header when the response is written, not when the request comes in",
        ).toBe("close");
      });
      expect(
        await committedOrders(ids),
        "every order whose request was in flight at SIGTERM must be committed",
      ).toEqual([...ids].sort());
      expect(status.exitCode === 0 && status.signal === null, explainExit(status, 0)).toBe(true);
      const lingered = exitedAt() - repliedAt;
      expect(
        lingered,
        `the process exited ${lingered} ms after its last request in flight was answered. Node's server.close() ` +
          "waits for every open connection, and keep-alive connections stay open for keepAliveTimeout after " +
          "their response: answer with `Connection: close` once shutting down (or close idle connections), so " +
          "close() can finish right away",
      ).toBeLessThan(2_500);

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
      await hold.release();
      agent.destroy();
    }
  });
});

task(4, "Stop accepting new connections after the drain delay", () => {
  it("once the drain delay is over, new connections are refused while the request in flight finishes", async () => {
    const { instance, drainDelayMs, stop } = scenario("listener");
    const orderId = newOrderId("last");
    const { hold, outcomes, queued } = await startHeldOrders(instance, [orderId]);
    try {
      expectQueued(queued, 1);
      let ended = false;
      void outcomes.then(() => (ended = true));

      const { sentAt, stopping } = sendSigterm(stop);
      // The grader holds the request in flight while it opens new connections, until one is refused.
      const limitMs = drainDelayMs + 5_000;
      let refusedAt: number | undefined;
      while (!ended && Date.now() - sentAt < limitMs) {
        if (!(await servesNewConnections(instance))) {
          refusedAt = Date.now();
          break;
        }
        await sleep(25);
      }
      const endedFirst = ended;
      await hold.release();
      const [reply] = await outcomes;
      const replyText = reply ? outcomeText(reply) : "nothing";

      expect(
        endedFirst,
        `the request in flight ended with ${replyText} while the grader still held it and before any new ` +
          "connection was refused: after the drain delay close the listener, and let the requests already " +
          "running finish",
      ).toBe(false);
      expect(
        refusedAt !== undefined,
        `new connections were still accepted ${limitMs} ms after SIGTERM (DRAIN_DELAY_MS=${drainDelayMs}) while ` +
          "a request was in flight: once the drain delay is over, close the listener (server.close()) even if " +
          "requests are still running. A server that keeps accepting lets new work pile onto a process that is " +
          "about to go away",
      ).toBe(true);
      // Measured from before SIGTERM was sent: never shorter than the time since SIGTERM arrived.
      const refusedAfter = (refusedAt ?? 0) - sentAt;
      expect(
        refusedAfter,
        `a new connection was refused ${refusedAfter} ms after SIGTERM: connections must be accepted during the ` +
          `whole drain delay of ${drainDelayMs} ms`,
      ).toBeGreaterThanOrEqual(drainDelayMs - 50);

      expect(
        replyText,
        "the request in flight must still finish with 201 after the listener is closed",
      ).toMatch(/^201 /);
      const status = await stopping;
      expect(status.exitCode === 0 && status.signal === null, explainExit(status, 0)).toBe(true);
    } finally {
      await hold.release();
    }
  });
});

task(5, "Give up at the deadline", () => {
  it("at SHUTDOWN_TIMEOUT_MS the request that cannot finish is cut off (no response, not committed), the one that could is kept, and the process logs it and exits 1", async () => {
    const { instance, shutdownTimeoutMs, stop } = scenario("deadline");
    const quickId = newOrderId("quick");
    const stuckId = newOrderId("stuck");
    const since = await postgresNow();
    const stuck = settle(postOrder(instance, stuckId, STUCK_MS));
    const { hold, outcomes, queued } = await startHeldOrders(instance, [quickId]);
    try {
      expectQueued(queued, 1);
      expect(
        await waitFor(async () => (await sleepingSince(since)) >= 1, 10_000),
        `POST /orders with processingMs ${STUCK_MS} must be running its pg_sleep in Postgres`,
      ).toBe(true);

      const { sentAt, stopping } = sendSigterm(stop);
      const seen = await watchShutdown(instance, sentAt, shutdownTimeoutMs);
      // The quick request goes on once the shutdown has begun: it finishes well before the deadline.
      await hold.release();
      const [quick] = await outcomes;
      // The lines printed when SIGTERM arrived have had a second to reach the grader: from here on, what the
      // process prints before its exit is what it says at the deadline.
      await sleep(Math.max(0, seen.seenAt + 1_000 - Date.now()));
      const printedBefore = (await instance.output()).length;
      const lookedAfter = Date.now() - sentAt;
      const status = await stopping;

      expect(
        status.signal,
        `a request needs ${STUCK_MS} ms but the shutdown may take ${shutdownTimeoutMs} ms: ` +
          `${explainExit(status, 1)}. Start a timer at SIGTERM that exits when SHUTDOWN_TIMEOUT_MS is up, ` +
          "whatever is still running",
      ).toBe(null);
      expect(
        status.exitCode,
        "a shutdown that had to cut requests off must exit with code 1, so that the orchestrator's logs show it",
      ).toBe(1);
      expect(
        quick ? outcomeText(quick) : "nothing",
        "a request in flight at SIGTERM that finished well before the deadline must have been answered 201",
      ).toMatch(/^201 /);
      const stuckText = outcomeText(await stuck);
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
      // Judged only when the grader looked well before the deadline (a loaded machine can delay it).
      if (lookedAfter < shutdownTimeoutMs - 500) {
        // Something a reader can see: an empty line says nothing.
        const logged = await waitFor(
          async () => (await instance.output()).slice(printedBefore).trim().length > 0,
          2_000,
        );
        expect(
          logged,
          "the process printed nothing between the last request finishing and its exit at the deadline: log " +
            "that the deadline was reached and requests are being cut off (console.error), so that whoever " +
            "reads the logs after a deploy knows why those requests failed",
        ).toBe(true);
      }
    } finally {
      await hold.release();
    }
  });

  it("the deadline counts from SIGTERM, drain delay included, as the orchestrator's grace period does", async () => {
    const { instance, drainDelayMs, shutdownTimeoutMs } = scenario("deadlineFromSignal");
    const since = await postgresNow();
    const stuck = settle(postOrder(instance, newOrderId("stuck"), STUCK_MS));
    expect(
      await waitFor(async () => (await sleepingSince(since)) >= 1, 10_000),
      `POST /orders with processingMs ${STUCK_MS} must be running its pg_sleep in Postgres`,
    ).toBe(true);

    // A deadline timer started after the drain delay exits at DRAIN_DELAY_MS + SHUTDOWN_TIMEOUT_MS: give it
    // the time to, so that it is judged by when it exited rather than killed.
    const { sentAt, stopping, exitedAt } = sendSigterm(() =>
      instance.stop(shutdownTimeoutMs + drainDelayMs + KILL_AFTER_MS),
    );
    const status = await stopping;
    const elapsed = exitedAt() - sentAt;
    await stuck;
    expect(status.signal, explainExit(status, 1)).toBe(null);
    expect(status.exitCode, "a shutdown that had to cut a request off exits with code 1").toBe(1);
    // Such a timer cannot exit before DRAIN_DELAY_MS + SHUTDOWN_TIMEOUT_MS after SIGTERM; the right one exits a
    // whole drain delay earlier, which leaves a loaded machine seconds to deliver the signal and report the exit.
    expect(
      elapsed,
      `with DRAIN_DELAY_MS=${drainDelayMs} and SHUTDOWN_TIMEOUT_MS=${shutdownTimeoutMs} the process exited ` +
        `${elapsed} ms after SIGTERM. Kubernetes' grace period starts at the signal: a deadline timer started ` +
        "only after the drain delay fires too late, when SIGKILL may already have come",
    ).toBeLessThan(shutdownTimeoutMs + drainDelayMs - 200);
  });
});
