// Shared by the grader files: the learner's API, and ways to arrange and inspect the events table as the
// superuser, independently of the learner's code.
import { learner, postgres, uid } from "@backend-labs/graders";

export { uid };

export interface FeedEvent {
  id: number;
  accountId: string;
  occurredAt: Date;
  action: string;
}

export interface Page {
  events: FeedEvent[];
  nextCursor: string | null;
}

export interface PageOptions {
  limit?: number;
  cursor?: string | null;
}

export interface Feed {
  migrate(): void;
  listEvents(accountId: string, options?: PageOptions): Page;
}

export const feed = learner().module<Feed>();

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

/** The newest timestamp of a grader account; older groups are whole seconds before it. */
const newest = "2025-03-01 12:00:00+00";

/**
 * Creates an account directly in the database: group g (0 = newest) holds groupSizes[g] events that share
 * one timestamp to the microsecond. Rows are inserted in a scrambled order, so ids do not follow time and
 * the ids within a group are not consecutive. Returns the account id.
 */
export async function createAccount(label: string, groupSizes: number[]): Promise<string> {
  const accountId = uid(label);
  const groups = groupSizes.flatMap((size, group) => Array.from({ length: size }, () => group));
  const scrambled = groups.map((group, index) => ({
    group,
    key: ((index * 37) % groups.length) + index / 1e6,
  }));
  scrambled.sort((a, b) => a.key - b.key);
  await insertEvents(
    accountId,
    scrambled.map(({ group }) => group),
  );
  return accountId;
}

/**
 * Inserts one event per entry of `groups` into the account, in that order. Group g's timestamp is g seconds
 * (plus some microseconds) before the newest one; negative groups are newer than every group >= 0.
 * Returns the new ids in insertion order.
 */
export async function insertEvents(accountId: string, groups: number[]): Promise<number[]> {
  const { rows } = await postgres().query<{ id: string }>(
    `INSERT INTO events (account_id, occurred_at, action)
     SELECT $1, timestamptz '${newest}' - g * interval '1 second' + ((g * 104729) % 1000000 + 1000000) % 1000000 * interval '1 microsecond',
            'grader.' || g
       FROM unnest($2::int[]) WITH ORDINALITY AS t(g, n)
      ORDER BY n
     RETURNING id`,
    [accountId, groups],
  );
  return rows.map((row) => Number(row.id));
}

export async function deleteEvents(ids: number[]): Promise<void> {
  await postgres().query("DELETE FROM events WHERE id = ANY($1::bigint[])", [ids]);
}

/** Postgres sessions the learner's code holds open right now (busy or idle in its pool); the grader's aside. */
export async function learnerConnections(): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND usename <> current_user`,
  );
  return rows[0]?.n ?? 0;
}

/** The account's event ids in feed order, as Postgres sorts them. */
export async function idsInFeedOrder(accountId: string): Promise<number[]> {
  const { rows } = await postgres().query<{ id: string }>(
    "SELECT id FROM events WHERE account_id = $1 ORDER BY occurred_at DESC, id DESC",
    [accountId],
  );
  return rows.map((row) => Number(row.id));
}

export interface StoredEvent {
  id: number;
  accountId: string;
  occurredAt: Date;
  /** occurred_at with its microseconds, as Postgres prints it. */
  occurredAtText: string;
  /** occurred_at in microseconds since the epoch: exact, unlike a Date. */
  micros: bigint;
  action: string;
}

/** Events as stored (deleted ones are absent), by id. */
export async function storedEvents(ids: number[]): Promise<Map<number, StoredEvent>> {
  const { rows } = await postgres().query<{
    id: string;
    account_id: string;
    occurred_at: Date;
    occurred_at_text: string;
    micros: string;
    action: string;
  }>(
    `SELECT id, account_id, occurred_at, occurred_at::text AS occurred_at_text,
            (extract(epoch FROM occurred_at) * 1000000)::bigint::text AS micros, action
       FROM events WHERE id = ANY($1::bigint[])`,
    [ids],
  );
  return new Map(
    rows.map((row) => [
      Number(row.id),
      {
        id: Number(row.id),
        accountId: row.account_id,
        occurredAt: row.occurred_at,
        occurredAtText: row.occurred_at_text,
        micros: BigInt(row.micros),
        action: row.action,
      },
    ]),
  );
}

/** Ids of a page, for messages and comparisons. */
export function idsOf(page: Page): number[] {
  return page.events.map((event) => event.id);
}

/** "[12, 9, 4]": short lists print whole, long ones are cut. */
export function show(ids: number[]): string {
  return ids.length <= 30
    ? `[${ids.join(", ")}]`
    : `[${ids.slice(0, 30).join(", ")}, ... (${ids.length} in all)]`;
}

/**
 * Follows nextCursor from the first page to the end. `between(pageIndex, page)` runs after each page, before
 * the next one is fetched. Stops after maxPages, so a cursor that never ends cannot hang the grade.
 */
export async function walk(
  accountId: string,
  limit: number,
  maxPages: number,
  between?: (pageIndex: number, page: Page) => Promise<void>,
): Promise<{ pages: Page[]; finished: boolean }> {
  const pages: Page[] = [];
  let cursor: string | null = null;
  do {
    const page: Page = await feed.listEvents(accountId, { limit, cursor });
    pages.push(page);
    cursor = page.nextCursor;
    if (cursor !== null && between) await between(pages.length - 1, page);
  } while (cursor !== null && pages.length < maxPages);
  return { pages, finished: cursor === null };
}

/** Ids that occur more than once, each once. */
export function duplicatesIn(ids: number[]): number[] {
  const seen = new Set<number>();
  const duplicates = new Set<number>();
  for (const id of ids) (seen.has(id) ? duplicates : seen).add(id);
  return [...duplicates];
}

/** Settles a promise into the error it rejected with, or undefined if it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<Error | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** The error's message, or a note that the call succeeded. */
export function messageOf(error: Error | undefined): string {
  return error ? error.message : "(no error: the call succeeded)";
}

/** "event 12 of account x" lines for events of a walk that belong to another account (or to none). */
export function foreignEvents(pages: Page[], accountId: string): string[] {
  return pages.flatMap((page, index) =>
    page.events
      .filter((event) => event.accountId !== accountId)
      .map((event) => `page ${index + 1}: event ${event.id} of account ${JSON.stringify(event.accountId)}`),
  );
}

/** The message when a walk returned other accounts' events. */
export function foreignMessage(accountId: string, foreign: string[]): string {
  const firstPage = foreign.some((line) => line.startsWith("page 1:"));
  return (
    `listEvents("${accountId}") returned events of other accounts (${foreign.slice(0, 5).join("; ")}` +
    `${foreign.length > 5 ? `; ... ${foreign.length} in all` : ""}). Only the account's own events may appear: ` +
    (firstPage
      ? "filter on account_id"
      : "the first page is right, so the query for the pages after a cursor lacks its account_id = $1 filter")
  );
}

/**
 * Where a walk first departs from the ids it should have returned, explained for a message (the page, the
 * event expected and the one returned, and the likely cause); undefined when it returned exactly `expected`.
 */
export async function firstDeparture(pages: Page[], expected: number[]): Promise<string | undefined> {
  const seen = pages.flatMap(idsOf);
  let at = 0;
  while (at < seen.length && at < expected.length && seen[at] === expected[at]) at++;
  if (at === seen.length && at === expected.length) return undefined;

  // Which page and where in it the departure is.
  let page = 0;
  let offset = at;
  while (page < pages.length - 1 && offset >= pages[page]!.events.length) {
    offset -= pages[page]!.events.length;
    page++;
  }
  const previousLast = at > 0 ? seen[at - 1] : undefined;
  const stored = await storedEvents([
    ...expected.slice(Math.max(0, at - 1), at + 200),
    ...seen.slice(at, at + 1),
  ]);
  const describe = (id: number | undefined) => {
    if (id === undefined) return "nothing";
    const event = stored.get(id);
    return event ? `event ${id} (${event.occurredAtText})` : `event ${id}`;
  };
  const where = `page ${page + 1}${offset === 0 && page > 0 ? `, the first page after a cursor,` : ""}`;

  if (at === seen.length) {
    return (
      `the walk ended after ${seen.length} events (the last page had nextCursor null), but the account has ` +
      `${expected.length}: ${describe(expected[at])} and ${expected.length - at - 1} more never came back. ` +
      "nextCursor may be null only on the page that holds the account's oldest event"
    );
  }
  const got = seen[at]!;
  const want = expected[at]!;
  if (at === expected.length) {
    return `after the account's oldest event, the walk returned ${describe(got)} too: nothing follows the oldest event`;
  }
  const later = expected.indexOf(got, at + 1);
  const earlier = expected.slice(0, at).includes(got);
  if (earlier) {
    return (
      `${where} returned ${describe(got)} again (it had already come back). The next page must start strictly ` +
      "after the cursor's position: (occurred_at, id) < (cursor's occurred_at, cursor's id)"
    );
  }
  if (later === -1) {
    return `${where} returned ${describe(got)} where ${describe(want)} belongs: that event is not one of the account's events in feed order`;
  }
  if (offset > 0 || page === 0) {
    return (
      `${where} returned ${describe(got)} where ${describe(want)} belongs. Events must come in the order of ` +
      "ORDER BY occurred_at DESC, id DESC (newest first, and the higher id first among equal timestamps)"
    );
  }
  const skipped = expected.slice(at, later);
  const last = previousLast === undefined ? undefined : stored.get(previousLast);
  const sameTime = last !== undefined && skipped.every((id) => stored.get(id)?.micros === last.micros);
  const cause = sameTime
    ? "They share occurred_at with the last event of the previous page: the cursor must hold the whole sort key " +
      "(occurred_at to the microsecond, and id), and the next page is (occurred_at, id) < (cursor's occurred_at, " +
      "cursor's id). A JavaScript Date keeps only milliseconds"
    : skipped.length === 1
      ? "Exactly one event was skipped: is nextCursor built from the look-ahead row (the limit + 1st) instead of " +
        "the last event the page returns?"
      : "The cursor did not hold the exact position of the last event returned: check how occurred_at is written " +
        "into the cursor and read back (time zone, 24-hour clock, microseconds)";
  return (
    `${where} started at ${describe(got)}, but the previous page ended at ${describe(previousLast)}, and right ` +
    `after it come ${skipped.length} event(s) that were skipped: ${show(skipped)}. ${cause}`
  );
}
