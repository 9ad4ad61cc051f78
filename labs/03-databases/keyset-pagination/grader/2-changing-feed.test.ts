import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import {
  createAccount,
  deleteEvents,
  duplicatesIn,
  feed,
  foreignEvents,
  foreignMessage,
  idsInFeedOrder,
  idsOf,
  insertEvents,
  show,
  type StoredEvent,
  storedEvents,
  walk,
} from "./helpers.ts";

/** Pairs of consecutive returned ids that are not in strictly descending (occurred_at, id) order. */
function outOfOrder(ids: number[], known: Map<number, StoredEvent>): string[] {
  const problems: string[] = [];
  for (let i = 1; i < ids.length; i++) {
    const before = known.get(ids[i - 1]!)!;
    const after = known.get(ids[i]!)!;
    const descending =
      before.micros > after.micros || (before.micros === after.micros && before.id > after.id);
    if (!descending) {
      problems.push(`${before.id} (${before.occurredAtText}) then ${after.id} (${after.occurredAtText})`);
    }
  }
  return problems;
}

task(3, "Stay correct while events are inserted and deleted", () => {
  it("events inserted and deleted between page fetches cause no duplicates and no gaps", async () => {
    // 30 events in tie groups; pages of 5.
    const account = await createAccount("live", [2, 3, 1, 4, 2, 3, 1, 2, 3, 2, 1, 3, 2, 1]);
    const initial = await idsInFeedOrder(account);
    const known = await storedEvents(initial);
    const remember = async (ids: number[]) => {
      for (const [id, event] of await storedEvents(ids)) known.set(id, event);
    };
    const groupOf = (id: number) => Number(known.get(id)!.action.replace("grader.", ""));

    const deletedSeen: number[] = [];
    const deletedUnseen: number[] = [];
    const insertedAhead: number[] = [];
    const insertedBehind: number[] = [];

    const { pages, finished } = await walk(account, 5, 20, async (pageIndex, page) => {
      const pageIds = idsOf(page);
      // A page with events the grader does not know (another account's) fails below; nothing to arrange.
      if (pageIds.some((id) => !known.has(id))) return;
      const lastGroup = groupOf(pageIds.at(-1)!);
      if (pageIndex === 0) {
        // New events at the top of the feed, and two events the reader has already seen disappear. Pages
        // counted by position shift by one; a keyset cursor does not care.
        insertedAhead.push(...(await insertEvents(account, [-1, -2, -2])));
        deletedSeen.push(pageIds[0]!, pageIds[2]!);
        // Further down: one late event lands inside an existing group of equal timestamps, one at the very
        // end; two events the reader has not reached yet are deleted.
        const unseen = initial.filter((id) => groupOf(id) > lastGroup);
        insertedBehind.push(...(await insertEvents(account, [groupOf(unseen[6]!), 40])));
        deletedUnseen.push(unseen[3]!, unseen[10]!);
        await deleteEvents([...deletedSeen, ...deletedUnseen]);
        await remember([...insertedAhead, ...insertedBehind]);
      }
      if (pageIndex === 1) {
        // The event the cursor points at is deleted, and a new event takes its exact timestamp: with a
        // higher id, it sorts before the cursor, so this reader must not see it.
        deletedSeen.push(pageIds.at(-1)!);
        await deleteEvents([pageIds.at(-1)!]);
        insertedAhead.push(...(await insertEvents(account, [lastGroup])));
        insertedBehind.push(...(await insertEvents(account, [lastGroup + 1])));
        await remember([...insertedAhead, ...insertedBehind]);
      }
    });

    const foreign = foreignEvents(pages, account);
    expect(foreign, foreignMessage(account, foreign)).toEqual([]);
    const seen = pages.flatMap(idsOf);
    const strangers = seen.filter((id) => !known.has(id));
    expect(
      strangers,
      `the walk returned events ${show(strangers)}, which the account never had: only the account's events may appear`,
    ).toEqual([]);
    const duplicates = duplicatesIn(seen);
    expect(
      duplicates,
      `events ${show(duplicates)} came back twice. Between page fetches the grader inserted 3 newer events and ` +
        "deleted 2 the reader had seen: a cursor that counts rows (OFFSET) now points one row earlier. A keyset " +
        "cursor names the last row's (occurred_at, id), which means the same thing whatever happens above it",
    ).toEqual([]);
    expect(finished, "the walk must end with nextCursor null").toBe(true);

    const stable = initial.filter((id) => !deletedSeen.includes(id) && !deletedUnseen.includes(id));
    const missing = stable.filter((id) => !seen.includes(id));
    expect(
      missing,
      `events ${show(missing)} existed during the whole walk but never came back. Between pages the grader ` +
        "deleted events the reader had seen: under OFFSET every later event moves up past the reader, while a " +
        "keyset position does not move. Events that share the timestamp of a page's last event are lost when the " +
        "cursor lacks the id or the timestamp's microseconds",
    ).toEqual([]);
    const lateMissing = insertedBehind.filter((id) => !seen.includes(id));
    expect(
      lateMissing,
      `events ${show(lateMissing)} were inserted behind the cursor (older than where the reader was) and must appear later in the walk`,
    ).toEqual([]);
    const ghosts = deletedUnseen.filter((id) => seen.includes(id));
    expect(ghosts, `events ${show(ghosts)} were deleted before the reader reached them`).toEqual([]);
    const ahead = insertedAhead.filter((id) => seen.includes(id));
    expect(
      ahead,
      `events ${show(ahead)} were inserted ahead of the cursor (newer than the last event returned): a reader ` +
        "walking down the feed must not see them",
    ).toEqual([]);
    const disorder = outOfOrder(seen, known);
    expect(
      disorder,
      `the walk must return events in descending (occurred_at, id) order; these consecutive events are not: ${disorder.join("; ")}`,
    ).toEqual([]);
  });

  it("the next page is right when the event the cursor points at was deleted", async () => {
    const account = await createAccount("gone", [1, 2, 1, 3, 1, 2]);
    const expected = await idsInFeedOrder(account);
    const first = await feed.listEvents(account, { limit: 3 });
    expect(
      idsOf(first),
      `the first page of 3 must hold the account's 3 newest events ${show(expected.slice(0, 3))}`,
    ).toEqual(expected.slice(0, 3));
    await deleteEvents([expected[2]!]);
    const second = await feed.listEvents(account, { limit: 3, cursor: first.nextCursor });
    expect(
      idsOf(second),
      `after the grader deleted event ${expected[2]} (the last one of the first page), the next page must still ` +
        `be ${show(expected.slice(3, 6))}, got ${show(idsOf(second))}. The cursor must carry the position itself ` +
        "(occurred_at and id): not a count of rows (one above it was just deleted), and not an id to look up " +
        "again (that row is gone)",
    ).toEqual(expected.slice(3, 6));
  });
});
