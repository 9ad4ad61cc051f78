import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
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

/**
 * Runs `call` while the grader holds an ACCESS EXCLUSIVE lock on events, and returns the text of the first
 * statement the learner's code sends that waits on it: the query its listEvents really runs on the table.
 */
async function captureQuery(call: () => Promise<unknown>): Promise<string | undefined> {
  const holder = await postgres().connect();
  let query: string | undefined;
  let outcome: Promise<unknown> | undefined;
  try {
    const { rows } = await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    await holder.query("BEGIN");
    await holder.query("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
    let settled = false;
    outcome = call().finally(() => (settled = true));
    // Awaited below, once the lock is gone; until then a rejection must not count as unhandled.
    outcome.catch(() => undefined);
    const deadline = Date.now() + 3_000;
    while (query === undefined && !settled && Date.now() < deadline) {
      const waiting = await postgres().query<{ query: string }>(
        `SELECT query FROM pg_stat_activity
          WHERE datname = current_database() AND backend_type = 'client backend'
            AND wait_event_type = 'Lock' AND pid <> $1 AND pid <> pg_backend_pid()`,
        [rows[0]!.pid],
      );
      query = waiting.rows[0]?.query;
      if (query === undefined) await sleep(20);
    }
  } finally {
    await holder.query("ROLLBACK").catch(() => undefined);
    holder.release();
  }
  await outcome;
  return query;
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
  name: string;
  definition: string;
  valid: boolean;
}

async function eventIndexes(): Promise<IndexRow[]> {
  const { rows } = await postgres().query<IndexRow>(
    `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition, i.indisvalid AS valid
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
  if (nodes.some((node) => node["Node Type"] === "Seq Scan" && node["Relation Name"] === "events")) {
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
  });

  it("the first page and a deep page of the big account are each one index scan, with no sort", async () => {
    await feed.migrate();
    const { pages } = await walk("acme", 50, 3);
    const cursor = pages.at(-1)!.nextCursor;
    expect(typeof cursor, "the big account 'acme' has 60,000 events: page 3 must have a nextCursor").toBe(
      "string",
    );

    const firstPageQuery = await captureQuery(() => feed.listEvents("acme", { limit: 50 }));
    const deepPageQuery = await captureQuery(() => feed.listEvents("acme", { limit: 50, cursor }));
    expect(
      firstPageQuery,
      "the grader locked the events table and listEvents for the first page sent no query that waited on it: listEvents must read the events table",
    ).toBeDefined();
    expect(
      deepPageQuery,
      "the grader locked the events table and listEvents with a cursor sent no query that waited on it: listEvents must read the events table",
    ).toBeDefined();

    const firstProblem = planProblem(await genericPlan(firstPageQuery!), "The first page's query", false);
    expect(firstProblem === undefined, firstProblem).toBe(true);
    const deepProblem = planProblem(
      await genericPlan(deepPageQuery!),
      "The query for a page after a cursor",
      true,
    );
    expect(deepProblem === undefined, deepProblem).toBe(true);
  });
});
