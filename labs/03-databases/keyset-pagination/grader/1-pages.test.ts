import { expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import {
  createAccount,
  DEFAULT_LIMIT,
  feed,
  firstDeparture,
  foreignEvents,
  foreignMessage,
  idsInFeedOrder,
  idsOf,
  insertEvents,
  learnerConnections,
  messageOf,
  rejection,
  show,
  storedEvents,
  uid,
  walk,
} from "./helpers.ts";

task(1, "Serve the first page", () => {
  it("the first page holds the newest events, newest first, equal timestamps ordered by the higher id first", async () => {
    // 12 events; groups of 3, 1, 4, 2, 2 share one timestamp each.
    const account = await createAccount("first", [3, 1, 4, 2, 2]);
    const expected = await idsInFeedOrder(account);
    const page = await feed.listEvents(account, { limit: 5 });

    expect(
      idsOf(page),
      `listEvents(account, { limit: 5 }) must return the 5 newest events in the order of ` +
        `ORDER BY occurred_at DESC, id DESC: expected ids ${show(expected.slice(0, 5))}, got ${show(idsOf(page))}. ` +
        "Several events share one occurred_at: without the id as a tie-breaker their order is up to Postgres",
    ).toEqual(expected.slice(0, 5));

    const stored = await storedEvents(expected.slice(0, 5));
    for (const event of page.events) {
      const row = stored.get(event.id)!;
      expect(
        { id: event.id, accountId: event.accountId, action: event.action },
        `event ${event.id} must carry the row's id (as a number), account_id and action`,
      ).toEqual({ id: row.id, accountId: row.accountId, action: row.action });
      expect(
        event.occurredAt instanceof Date
          ? Math.abs(event.occurredAt.getTime() - row.occurredAt.getTime())
          : NaN,
        `event ${event.id}: occurredAt must be a Date for the row's occurred_at (${row.occurredAtText})`,
      ).toBeLessThanOrEqual(1);
    }
    expect(
      typeof page.nextCursor,
      "7 more events follow the first page of 5: nextCursor must be a string the caller passes back",
    ).toBe("string");
  });

  it(`limit defaults to ${DEFAULT_LIMIT}; a page holding the account's last event has nextCursor null`, async () => {
    const big = await createAccount(
      "default-limit",
      Array.from({ length: 25 }, () => 1),
    );
    const page = await feed.listEvents(big);
    expect(
      idsOf(page),
      `listEvents(account) without options must return the ${DEFAULT_LIMIT} newest of its 25 events`,
    ).toEqual((await idsInFeedOrder(big)).slice(0, DEFAULT_LIMIT));
    expect(page.nextCursor, "25 events do not fit in one page of 20: nextCursor must be set").not.toBeNull();

    const small = await createAccount("small", [1, 1, 1]);
    const only = await feed.listEvents(small, { limit: 10 });
    expect(idsOf(only), "an account with 3 events returns all 3 on its first page").toEqual(
      await idsInFeedOrder(small),
    );
    expect(
      only.nextCursor,
      "nothing follows the account's oldest event: nextCursor must be null, not a cursor to an empty page",
    ).toBeNull();

    const none = await feed.listEvents(uid("no-events"), { limit: 10 });
    expect(none, "an account without events has an empty first page and no next page").toEqual({
      events: [],
      nextCursor: null,
    });
  });

  it("a page holds only the account's own events, on the first page and after a cursor", async () => {
    // Both accounts have events at the same timestamps, so their events interleave in time.
    const mine = await createAccount("mine", [1, 1, 1, 1, 1, 1]);
    await createAccount("theirs", [2, 2, 2, 2, 2, 2]);
    const page = await feed.listEvents(mine, { limit: 50 });
    const foreign = foreignEvents([page], mine);
    expect(foreign, foreignMessage(mine, foreign)).toEqual([]);
    expect(idsOf(page), "the account's 6 events, in feed order").toEqual(await idsInFeedOrder(mine));

    const { pages } = await walk(mine, 2, 10);
    const foreignLater = foreignEvents(pages, mine);
    expect(foreignLater, foreignMessage(mine, foreignLater)).toEqual([]);
    const departure = await firstDeparture(pages, await idsInFeedOrder(mine));
    expect(departure === undefined, `walking the account's 6 events with limit 2: ${departure}`).toBe(true);
  });

  it("calls one after the other share one pg.Pool: the process never holds more than its 10 connections", async () => {
    const account = await createAccount("one-pool", [2, 2, 2]);
    const calls = 30;
    let most = 0;
    for (let call = 1; call <= calls && most <= 10; call++) {
      const page = await feed.listEvents(account, { limit: 2 });
      expect(idsOf(page).length, "the first page of 2 out of 6 events holds 2 events").toBe(2);
      most = Math.max(most, await learnerConnections());
    }
    expect(
      most,
      `after listEvents calls made one after the other, your code held ${most} connections to Postgres. A pg.Pool ` +
        "(or Client) made per call opens a new connection each time and keeps it open until Postgres refuses " +
        "more. Create the pool once per process (the starter's db() does) and query through it: one pool never " +
        "holds more than its 10 connections",
    ).toBeLessThanOrEqual(10);
  });
});

task(2, "Walk the feed with a keyset cursor", () => {
  it("following nextCursor visits every event exactly once, in order, when pages split events with equal timestamps", async () => {
    // 47 events in tie groups of 1 to 6: with pages of 4 and of 7, many page boundaries fall inside a group.
    const account = await createAccount("walk", [3, 6, 1, 2, 5, 4, 1, 3, 2, 6, 1, 4, 2, 5, 2]);
    const expected = await idsInFeedOrder(account);
    for (const limit of [4, 7]) {
      const { pages, finished } = await walk(account, limit, 30);
      const foreign = foreignEvents(pages, account);
      expect(foreign, foreignMessage(account, foreign)).toEqual([]);
      const departure = await firstDeparture(pages, expected);
      expect(
        departure === undefined,
        `walking ${expected.length} events with limit ${limit} must return each exactly once, in feed order: ${departure}`,
      ).toBe(true);
      expect(finished, `walking with limit ${limit}: nextCursor must become null after the last event`).toBe(
        true,
      );
      expect(
        pages.slice(0, -1).every((page) => page.events.length === limit),
        `every page but the last must be full (${limit} events): got page sizes ${show(pages.map((page) => page.events.length))}`,
      ).toBe(true);
    }
  });

  it("a page may end on any timestamp: a whole second, or microseconds that end in zeros", async () => {
    // Seconds 0, 10, 1000 and 2000 before the grader's newest timestamp: 12:00:00 exactly, then fractions
    // that Postgres prints as .04729, .729 and .458 (it drops trailing zeros, and the whole fraction of a
    // whole second). With pages of 2, pages end on each of them.
    const account = uid("whole-second");
    await insertEvents(account, [0, 0, 0, 10, 10, 1000, 1000, 1000, 2000, 2000]);
    const expected = await idsInFeedOrder(account);
    const boundary = (await storedEvents([expected[1]!])).get(expected[1]!);
    const first = await feed.listEvents(account, { limit: 2 });
    expect(idsOf(first), `the first page of 2 must be ${show(expected.slice(0, 2))}`).toEqual(
      expected.slice(0, 2),
    );
    const error = await rejection(feed.listEvents(account, { limit: 2, cursor: first.nextCursor }));
    expect(
      messageOf(error),
      `the first page ends on event ${expected[1]}, whose occurred_at is a whole second (Postgres prints it as ` +
        `${boundary?.occurredAtText}, with no fractional digits), and listEvents refused the nextCursor it issued ` +
        `for it (${messageOf(error)}). Every position is a valid cursor: Postgres prints a fraction only when ` +
        "there is one, and without its trailing zeros (.5, not .500000). Accept every timestamp you write, or " +
        "format it yourself (to_char with US always gives 6 digits)",
    ).toBe("(no error: the call succeeded)");

    const { pages, finished } = await walk(account, 2, 10);
    const departure = await firstDeparture(pages, expected);
    expect(
      departure === undefined,
      `walking 10 events whose timestamps are a whole second or end in zeros, with limit 2: ${departure}`,
    ).toBe(true);
    expect(finished, "nextCursor must become null after the oldest event").toBe(true);
  });

  it("the last page has nextCursor null even when it is exactly full: no empty page at the end", async () => {
    const account = await createAccount(
      "exact",
      Array.from({ length: 12 }, () => 1),
    );
    const { pages } = await walk(account, 4, 10);
    expect(
      pages.map((page) => page.events.length),
      "12 events with limit 4 are 3 full pages, and the third must say nextCursor: null. Fetch limit + 1 rows " +
        "to know whether another page exists, and return only limit of them",
    ).toEqual([4, 4, 4]);
    expect(
      pages.at(-1)?.nextCursor,
      "the page holding the oldest event must have nextCursor null",
    ).toBeNull();
  });

  it("a walk through the big seeded account reaches deep pages with the same order Postgres gives", async () => {
    const { pages } = await walk("acme", 100, 12);
    const { rows } = await postgres().query<{ id: string }>(
      "SELECT id FROM events WHERE account_id = 'acme' ORDER BY occurred_at DESC, id DESC LIMIT 1300",
    );
    const expected = rows.map((row) => Number(row.id));
    const foreign = foreignEvents(pages, "acme");
    expect(foreign, foreignMessage("acme", foreign)).toEqual([]);
    const walked = pages.flatMap(idsOf).length;
    const departure = await firstDeparture(pages, expected.slice(0, walked));
    expect(
      departure === undefined,
      "12 pages of 100 through account 'acme' (groups of 3 events share a timestamp) must match " +
        `ORDER BY occurred_at DESC, id DESC LIMIT 1200, event for event: ${departure}`,
    ).toBe(true);
    expect(
      walked,
      `acme has 60,000 events: 12 pages of 100 must return 1200 of them, got ${walked} (page sizes ${show(pages.map((page) => page.events.length))})`,
    ).toBe(1200);
  });
});
