import { expect, it } from "vitest";
import { type PoolClient } from "pg";
import { postgres, task, waitFor } from "@backend-labs/graders";
import { feed, walk } from "./helpers.ts";

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Index Cond"?: string;
  Filter?: string;
  Plans?: PlanNode[];
}

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

/** The plan as EXPLAIN prints it in text, indented, for messages. */
function planText(plan: PlanNode, depth = 0): string {
  const details = [
    plan["Relation Name"] ? `on ${plan["Relation Name"]}` : "",
    plan["Index Name"] ? `using ${plan["Index Name"]}` : "",
    plan["Index Cond"] ? `Index Cond: ${plan["Index Cond"]}` : "",
    plan.Filter ? `Filter: ${plan.Filter}` : "",
  ].filter(Boolean);
  return [
    `${"  ".repeat(depth)}-> ${[plan["Node Type"], ...details].join("  ")}`,
    ...(plan.Plans ?? []).map((child) => planText(child, depth + 1)),
  ].join("\n");
}

/** A grader session that holds an ACCESS EXCLUSIVE lock on events (or is queued for one). */
interface Holder {
  client: PoolClient;
  pid: number;
}

async function newHolder(): Promise<Holder> {
  const client = await postgres().connect();
  const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  await client.query("BEGIN");
  return { client, pid: rows[0]!.pid };
}

async function release(holder: Holder): Promise<void> {
  await holder.client.query("ROLLBACK").catch(() => undefined);
  holder.client.release();
}

/** The statements of the learner's sessions that wait for a lock right now. */
async function learnerWaiters(): Promise<string[]> {
  const { rows } = await postgres().query<{ query: string }>(
    `SELECT query FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend'
        AND usename <> current_user AND wait_event_type = 'Lock'`,
  );
  return rows.map((row) => row.query);
}

/**
 * Runs `call` while the grader holds an ACCESS EXCLUSIVE lock on events, and returns the text of every
 * statement on events the learner's code sends during it, in order. Each one waits for the grader's lock;
 * the grader then queues a second lock behind it and lets it run, so the next statement waits again.
 */
async function captureStatements(call: () => Promise<unknown>): Promise<string[]> {
  const statements: string[] = [];
  let holder = await newHolder();
  let settled = false;
  let outcome: Promise<unknown> | undefined;
  try {
    await holder.client.query("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
    outcome = call().finally(() => (settled = true));
    // Awaited below, once the lock is gone; until then a rejection must not count as unhandled.
    outcome.catch(() => undefined);
    for (;;) {
      let waiting: string[] = [];
      await waitFor(
        async () => {
          waiting = await learnerWaiters();
          return settled || waiting.length > 0;
        },
        // Generous: the call settles or queues on the lock long before this on an idle machine, and a loaded
        // one must not turn a slow call into "sent no query".
        15_000,
        20,
      );
      if (waiting.length === 0) break;
      statements.push(waiting[0]!);
      if (statements.length >= 10) break;
      // The next holder's lock queues behind the learner's statement: it is granted once that statement's
      // transaction ends, so whatever the learner sends next waits for it.
      const next = await newHolder();
      const locked = next.client.query("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
      await waitFor(async () => {
        const { rows } = await postgres().query<{ waiting: boolean }>(
          "SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = $1",
          [next.pid],
        );
        return rows[0]?.waiting === true;
      }, 15_000);
      await release(holder);
      holder = next;
      await locked;
    }
  } finally {
    await release(holder);
  }
  await outcome;
  return statements;
}

/**
 * EXPLAIN of the learner's statement as a generic plan, the plan Postgres can use for any parameter values
 * (the grader does not know the values the learner bound).
 */
async function genericPlan(query: string): Promise<PlanNode> {
  const client = await postgres().connect();
  try {
    await client.query("SET plan_cache_mode = force_generic_plan");
    await client.query(`PREPARE grader_feed_page AS ${query.trim().replace(/;$/, "")}`);
    const { rows } = await client.query<{ n: number }>(
      "SELECT cardinality(parameter_types) AS n FROM pg_prepared_statements WHERE name = 'grader_feed_page'",
    );
    const n = rows[0]?.n ?? 0;
    const args = n > 0 ? `(${Array.from({ length: n }, () => "NULL").join(", ")})` : "";
    const explained = await client.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(
      `EXPLAIN (FORMAT JSON) EXECUTE grader_feed_page${args}`,
    );
    return explained.rows[0]!["QUERY PLAN"][0].Plan;
  } finally {
    await client.query("DEALLOCATE ALL").catch(() => undefined);
    await client.query("RESET plan_cache_mode").catch(() => undefined);
    client.release();
  }
}

interface IndexRow {
  oid: number;
  name: string;
  definition: string;
  valid: boolean;
}

async function eventIndexes(): Promise<IndexRow[]> {
  const { rows } = await postgres().query<IndexRow>(
    `SELECT i.indexrelid::int AS oid, c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition,
            i.indisvalid AS valid
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = 'events'::regclass AND NOT i.indisprimary
      ORDER BY c.relname`,
  );
  return rows;
}

/** The checks every page's plan must pass; returns what is wrong, or undefined. */
function planProblem(plan: PlanNode, which: string, needsCursorInIndex: boolean): string | undefined {
  const nodes = nodesOf(plan);
  const shown = `\nYour query's plan:\n${planText(plan)}`;
  const seqScan = nodes.find(
    (node) => node["Node Type"] === "Seq Scan" && node["Relation Name"] === "events",
  );
  if (seqScan && !/account_id/.test(seqScan.Filter ?? "")) {
    return `${which} reads the whole events table (Seq Scan), and its WHERE clause does not filter on account_id: it returns other accounts' events, and no index can find one account's rows. Filter on account_id = $1 in every page's query.${shown}`;
  }
  if (seqScan) {
    return `${which} reads the whole events table (Seq Scan) and sorts it to find one page: Postgres has no index it can use. migrate() must create an index matching the WHERE and ORDER BY of the feed query.${shown}`;
  }
  if (nodes.some((node) => /Sort$/.test(node["Node Type"]))) {
    return `${which} has a Sort step: the index does not deliver rows in the feed's order, so Postgres fetches the candidates and sorts them. Index the equality column first, then occurred_at and id, in the ORDER BY's order (all DESC, or all ASC and read backward).${shown}`;
  }
  const scan = nodes.find(
    (node) => /^Index (Only )?Scan$/.test(node["Node Type"]) && node["Relation Name"] === "events",
  );
  if (!scan || !/account_id/.test(scan["Index Cond"] ?? "")) {
    return `${which} must be an index scan on events whose Index Cond includes account_id.${shown}`;
  }
  if (needsCursorInIndex && !/occurred_at/.test(scan["Index Cond"] ?? "")) {
    return `${which} does not seek to the cursor: its Index Cond holds only account_id, so every page starts at the account's newest event and reads (then filters out or skips) every row before the cursor, and deep pages get slower and slower. Put the cursor's position in the WHERE clause as a row comparison, (occurred_at, id) < ($2, $3), which Postgres turns into an index range; the same test spelled with OR is only a filter.${shown}`;
  }
  return undefined;
}

task(5, "Make every page an index scan", () => {
  it("migrate() creates a valid index on events, and running it again changes nothing", async () => {
    await feed.migrate();
    const after = await eventIndexes();
    await feed.migrate();
    const again = await eventIndexes();
    expect(
      after.length,
      "after migrate() the events table must have an index besides its primary key: the feed query needs one",
    ).toBeGreaterThan(0);
    expect(
      after.filter((index) => !index.valid).map((index) => index.name),
      "these indexes are INVALID (a concurrent build failed): Postgres never uses them",
    ).toEqual([]);
    expect(
      again.map((index) => index.definition),
      "a second migrate() must not add or change indexes: deploys run migrations again (CREATE INDEX ... IF NOT EXISTS)",
    ).toEqual(after.map((index) => index.definition));
    const rebuilt = after
      .filter((index) => !again.some((other) => other.oid === index.oid))
      .map((index) => index.name);
    expect(
      rebuilt,
      "a second migrate() dropped and built these indexes again (each is a new index now): that leaves the feed " +
        "without its index while it builds, and rebuilds a big index on every deploy. Build it only when it is " +
        "missing (or INVALID)",
    ).toEqual([]);
  });

  it("the first page and a deep page of the big account are each one index scan, with no sort", async () => {
    await feed.migrate();
    const { pages } = await walk("acme", 50, 3);
    const cursor = pages.at(-1)!.nextCursor;
    expect(typeof cursor, "the big account 'acme' has 60,000 events: page 3 must have a nextCursor").toBe(
      "string",
    );

    const firstPage = await captureStatements(() => feed.listEvents("acme", { limit: 50 }));
    const deepPage = await captureStatements(() => feed.listEvents("acme", { limit: 50, cursor }));
    for (const [which, statements] of [
      ["the first page", firstPage],
      ["a page after a cursor", deepPage],
    ] as const) {
      expect(
        statements.length > 0,
        `the grader locked the events table and listEvents for ${which} sent no query that waited on it: listEvents must read the events table`,
      ).toBe(true);
      expect(
        statements.length,
        `listEvents for ${which} sent ${statements.length} statements on events: ${statements.map((query) => JSON.stringify(query.replace(/\s+/g, " ").slice(0, 120))).join(", ")}. ` +
          "Read each page with one statement: fetch limit + 1 rows, and the extra row tells whether another page follows",
      ).toBe(1);
    }
    const firstPageQuery = firstPage[0];
    const deepPageQuery = deepPage[0];

    const firstProblem = planProblem(await genericPlan(firstPageQuery!), "The first page's query", false);
    expect(firstProblem === undefined, firstProblem).toBe(true);
    const deepProblem = planProblem(
      await genericPlan(deepPageQuery!),
      "The query for a page after a cursor",
      true,
    );
    expect(deepProblem === undefined, deepProblem).toBe(true);
  });

  it("migrate() builds a missing index with CREATE INDEX CONCURRENTLY: writes to events go on while it builds", async () => {
    await feed.migrate();
    for (const index of await eventIndexes()) await postgres().query(`DROP INDEX "${index.name}"`);
    // A writer in the middle of its transaction holds ROW EXCLUSIVE on events. A plain CREATE INDEX queues for
    // a SHARE lock behind it, and every later write queues behind the build; CONCURRENTLY takes a lock
    // writers do not conflict with, and only waits for the writer's transaction to end.
    const writer = await newHolder();
    let migrating: Promise<Error | undefined> | undefined;
    try {
      await writer.client.query("LOCK TABLE events IN ROW EXCLUSIVE MODE");
      migrating = feed.migrate().then(
        () => undefined,
        (failure: Error) => failure,
      );
      const waiting = await waitFor(async () => (await learnerWaiters()).length > 0, 15_000);
      const { rows } = await postgres().query<{ mode: string }>(
        `SELECT l.mode FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE NOT l.granted AND l.locktype = 'relation' AND l.relation = 'events'::regclass
            AND a.usename <> current_user`,
      );
      expect(
        rows.map((row) => row.mode),
        "while a writer's transaction was open on events, migrate() queued for a SHARE lock on the table: a plain " +
          "CREATE INDEX, which blocks every write until the build ends. Build the index with CREATE INDEX " +
          "CONCURRENTLY (outside a transaction block)",
      ).not.toContain("ShareLock");
      expect(
        waiting,
        "migrate() never waited for the grader's open write transaction: it should build the index (CREATE INDEX " +
          "CONCURRENTLY waits for writers that started before it)",
      ).toBe(true);
    } finally {
      await release(writer);
    }
    expect(await migrating, "migrate() must succeed once the writer's transaction has ended").toBeUndefined();
    expect(
      (await eventIndexes()).filter((index) => index.valid).length,
      "after migrate() the events table must have a valid index besides its primary key",
    ).toBeGreaterThan(0);
  });

  it("migrate() after a failed concurrent build (an INVALID index left behind) builds a valid index the feed uses", async () => {
    await feed.migrate();
    const built = (await eventIndexes()).filter((index) => index.valid);
    expect(
      built.length > 0,
      "after migrate() the events table must have a valid index besides its primary key",
    ).toBe(true);
    // What a CREATE INDEX CONCURRENTLY that failed half-way leaves behind: the index, marked INVALID.
    await postgres().query("UPDATE pg_index SET indisvalid = false WHERE indexrelid = ANY($1::oid[])", [
      built.map((index) => index.oid),
    ]);
    const error = await feed.migrate().then(
      () => undefined,
      (failure: Error) => failure,
    );
    expect(
      error?.message,
      "migrate() must succeed on the next deploy after a concurrent build failed and left its index INVALID",
    ).toBeUndefined();
    const invalid = (await eventIndexes()).filter((index) => !index.valid).map((index) => index.name);
    expect(
      invalid,
      `the grader marked ${built.map((index) => index.name).join(", ")} INVALID, as a failed CREATE INDEX CONCURRENTLY ` +
        "leaves it, and the next migrate() kept it that way. Postgres never uses an INVALID index, and IF NOT EXISTS " +
        "only looks at the name: check pg_index.indisvalid, and drop an invalid index (DROP INDEX CONCURRENTLY) " +
        "before building it again",
    ).toEqual([]);
    const { pages } = await walk("acme", 50, 2);
    const cursor = pages.at(-1)!.nextCursor;
    expect(typeof cursor, "the big account 'acme' has 60,000 events: page 2 must have a nextCursor").toBe(
      "string",
    );
    const [query] = await captureStatements(() => feed.listEvents("acme", { limit: 50, cursor }));
    expect(
      query !== undefined,
      "the grader locked the events table and listEvents with a cursor sent no query that waited on it",
    ).toBe(true);
    const problem = planProblem(
      await genericPlan(query!),
      "After the rebuild, the query for a page after a cursor",
      true,
    );
    expect(problem === undefined, problem).toBe(true);
  });
});
