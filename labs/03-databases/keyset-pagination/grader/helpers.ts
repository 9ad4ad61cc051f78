// Shared by the grader files: the learner's API, and ways to arrange and inspect the events table as the
// superuser, independently of the learner's code.
import { randomUUID } from "node:crypto";
import { learner, postgres } from "@backend-labs/graders";

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

/** A fresh account id for this grade, so tests never share rows. */
export function uid(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

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
