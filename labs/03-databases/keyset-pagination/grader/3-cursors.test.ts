import { expect, it } from "vitest";
import { startLearner, task } from "@backend-labs/graders";
import {
  createAccount,
  type Feed,
  feed,
  idsInFeedOrder,
  idsOf,
  MAX_LIMIT,
  messageOf,
  rejection,
  show,
} from "./helpers.ts";

const base64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * The cursor with character `index` replaced. A base64url character gets its highest bit flipped: that bit
 * always carries data (padding bits are the low ones), so the decoded bytes change too.
 */
function tampered(cursor: string, index: number): string {
  const position = base64url.indexOf(cursor[index]!);
  const replacement = position === -1 ? "A" : base64url[position ^ 32]!;
  return cursor.slice(0, index) + replacement + cursor.slice(index + 1);
}

task(4, "Refuse cursors you did not issue", () => {
  it("malformed cursors are refused with 'invalid cursor', never a database error", async () => {
    const account = await createAccount("malformed", [2, 2, 2]);
    const { nextCursor } = await feed.listEvents(account, { limit: 2 });
    const forged = Buffer.from(JSON.stringify({ occurredAt: "2025-03-01T12:00:00Z", id: 5 })).toString(
      "base64url",
    );
    const bad: [string, unknown][] = [
      ["an empty string", ""],
      ["plain text", "page-2"],
      ["a hand-made base64url JSON cursor", forged],
      ["SQL", "' OR 1=1 --"],
      ["a real cursor cut short", nextCursor!.slice(0, -3)],
      ["a real cursor with text appended", `${nextCursor!}x`],
      ["a 10,000-character string", "A".repeat(10_000)],
      ["a number", 12345],
    ];
    for (const [what, cursor] of bad) {
      const error = await rejection(feed.listEvents(account, { limit: 2, cursor: cursor as string }));
      expect(
        messageOf(error),
        `listEvents with ${what} as the cursor must throw an error whose message contains 'invalid cursor' ` +
          "(check the cursor before any SQL runs, so a bad one is the caller's 400, not your 500)",
      ).toMatch(/invalid cursor/i);
    }
  });

  it("a cursor with any one character changed is refused: cursors are signed", async () => {
    const account = await createAccount("tamper", [1, 2, 1, 2, 1, 2, 1]);
    const { nextCursor } = await feed.listEvents(account, { limit: 3 });
    expect(typeof nextCursor, "the first page of 3 out of 10 events must have a nextCursor").toBe("string");
    const cursor = nextCursor!;
    const positions = Array.from({ length: Math.min(cursor.length, 300) }, (_, i) =>
      Math.floor((i * cursor.length) / Math.min(cursor.length, 300)),
    );
    const accepted: string[] = [];
    for (const index of positions) {
      const error = await rejection(feed.listEvents(account, { limit: 3, cursor: tampered(cursor, index) }));
      if (!/invalid cursor/i.test(messageOf(error))) accepted.push(`character ${index}`);
    }
    expect(
      accepted,
      `the grader changed one character of a valid cursor at a time, and listEvents did not refuse it with ` +
        `'invalid cursor' for ${accepted.length} of ${positions.length} changes (${accepted.slice(0, 8).join(", ")}...). ` +
        "A cursor is client input: sign what it carries (HMAC-SHA256 with the secret in the starter) and " +
        "refuse any cursor whose signature does not match before reading anything from it",
    ).toEqual([]);
  });

  it("a cursor is refused for another account than the one it was issued for", async () => {
    const first = await createAccount("cursor-owner", [2, 2, 2]);
    const second = await createAccount("other-account", [2, 2, 2]);
    const { nextCursor } = await feed.listEvents(first, { limit: 2 });
    const error = await rejection(feed.listEvents(second, { limit: 2, cursor: nextCursor }));
    expect(
      messageOf(error),
      "a cursor from account A's feed was accepted for account B. A cursor belongs to the query that issued " +
        "it: put the account id in the signed payload and refuse a mismatch with 'invalid cursor'",
    ).toMatch(/invalid cursor/i);
  });

  it(`limit must be an integer from 1 to ${MAX_LIMIT}: anything else is refused with 'invalid limit'`, async () => {
    const account = await createAccount(
      "limits",
      Array.from({ length: 150 }, () => 1),
    );
    for (const limit of [0, -1, MAX_LIMIT + 1, 2.5, Number.NaN, Number.POSITIVE_INFINITY, "10"]) {
      const error = await rejection(feed.listEvents(account, { limit: limit as number }));
      expect(
        messageOf(error),
        `listEvents with limit ${typeof limit === "string" ? `"${limit}"` : limit} must throw 'invalid limit': ` +
          "an unbounded or nonsensical page size is a cheap way to make your database work hard",
      ).toMatch(/invalid limit/i);
    }
    const all = await idsInFeedOrder(account);
    expect(
      idsOf(await feed.listEvents(account, { limit: 1 })),
      "limit 1 is allowed and returns the newest event",
    ).toEqual(all.slice(0, 1));
    expect(
      (await feed.listEvents(account, { limit: MAX_LIMIT })).events.length,
      `limit ${MAX_LIMIT} is allowed: this account has 150 events, so the page is full`,
    ).toBe(MAX_LIMIT);
  });

  it("a cursor issued by one instance of the API works on another instance", async () => {
    const account = await createAccount(
      "instances",
      Array.from({ length: 10 }, () => 1),
    );
    const expected = await idsInFeedOrder(account);
    const first = await feed.listEvents(account, { limit: 4 });
    const other = (await startLearner()).module<Feed>();
    const error = await rejection(other.listEvents(account, { limit: 4, cursor: first.nextCursor }));
    expect(
      messageOf(error),
      "a second instance (as after a deploy, or behind a load balancer) refused a cursor the first one issued: " +
        "every instance must sign with the same secret, not one generated at start-up",
    ).toBe("(no error: the call succeeded)");
    const second = await other.listEvents(account, { limit: 4, cursor: first.nextCursor });
    expect(
      idsOf(second),
      `the second page, read from the other instance, must be ${show(expected.slice(4, 8))}`,
    ).toEqual(expected.slice(4, 8));
  });
});
