import { expect, it } from "vitest";
import { lockWaiters, postgres, startLearner, task, waitFor } from "@backend-labs/graders";
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
 * Strings that differ from an issued cursor in one character, or by a few characters added: none of them
 * was issued, so each must be refused. Beyond a changed character at every position, they aim at the ways
 * a signature check lets altered text through: base64 decoding that ignores the unused low bits of a
 * run's last character, accepts "+" and "/" for "-" and "_", skips padding, whitespace or an odd hex digit;
 * hex or text compared without case; whitespace trimmed; extra "."-separated parts ignored.
 */
function alterations(cursor: string): { what: string; cursor: string }[] {
  const found = new Map<string, string>();
  const add = (what: string, altered: string) => {
    if (altered !== cursor && !found.has(altered)) found.set(altered, what);
  };
  for (let i = 0; i < cursor.length; i++) {
    const character = cursor[i]!;
    const replaced = (replacement: string) => cursor.slice(0, i) + replacement + cursor.slice(i + 1);
    const index = base64url.indexOf(character);
    if (index === -1) {
      add(`character ${i} ("${character}") changed to "A"`, replaced("A"));
    } else {
      // The highest of a base64url character's 6 bits always carries data.
      add(
        `character ${i} changed from "${character}" to "${base64url[index ^ 32]!}"`,
        replaced(base64url[index ^ 32]!),
      );
      // The last character of a base64 run may carry unused low bits that decoding drops.
      if (i === cursor.length - 1 || !base64url.includes(cursor[i + 1]!)) {
        for (const bits of [1, 2, 3])
          add(
            `character ${i}, the last of a base64 run, changed from "${character}" to "${base64url[index ^ bits]!}"`,
            replaced(base64url[index ^ bits]!),
          );
      }
    }
    const swapped = character === character.toLowerCase() ? character.toUpperCase() : character.toLowerCase();
    if (swapped !== character)
      add(`character ${i} changed from "${character}" to "${swapped}"`, replaced(swapped));
    if (character === "-") add(`character ${i} changed from "-" to "+"`, replaced("+"));
    if (character === "_") add(`character ${i} changed from "_" to "/"`, replaced("/"));
  }
  for (const suffix of ["=", "==", ".", ".x", "0", "A", " ", "\n"])
    add(`${JSON.stringify(suffix)} appended`, cursor + suffix);
  for (const prefix of [" ", "\n"]) add(`${JSON.stringify(prefix)} put in front`, prefix + cursor);
  return [...found].map(([altered, what]) => ({ what, cursor: altered }));
}

/**
 * Runs one call while the grader holds an ACCESS EXCLUSIVE lock on events, so any statement on it waits.
 * Returns the call's error, and whether it ran SQL on events before answering (it waited for the lock).
 */
async function withEventsLocked(call: () => Promise<unknown>): Promise<{ error?: Error; touched: boolean }> {
  const client = await postgres().connect();
  try {
    await client.query("BEGIN");
    await client.query("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
    let settled = false;
    const outcome = rejection(call()).finally(() => {
      settled = true;
    });
    let touched = false;
    await waitFor(async () => {
      touched = (await lockWaiters()) > 0;
      return settled || touched;
    }, 5_000);
    await client.query("ROLLBACK");
    return { error: await outcome, touched };
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
    client.release();
  }
}

task(4, "Refuse cursors you did not issue", () => {
  it("malformed cursors are refused with 'invalid cursor' before any SQL runs", async () => {
    const account = await createAccount("malformed", [2, 2, 2]);
    const { nextCursor } = await feed.listEvents(account, { limit: 2 });
    expect(typeof nextCursor, "the first page of 2 out of 6 events must have a nextCursor").toBe("string");
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
      ["the number 0", 0],
      ["false", false],
      ["an object", {}],
    ];
    for (const [what, cursor] of bad) {
      const { error, touched } = await withEventsLocked(() =>
        feed.listEvents(account, { limit: 2, cursor: cursor as string }),
      );
      expect(
        messageOf(error),
        `listEvents with ${what} as the cursor must throw an error whose message contains 'invalid cursor' ` +
          "(only undefined and null mean 'first page'; check the cursor before any SQL runs, so a bad one is the " +
          "caller's 400, not your 500)",
      ).toMatch(/invalid cursor/i);
      expect(
        touched,
        `listEvents with ${what} as the cursor ran SQL on events before refusing the cursor (the grader held a ` +
          "lock on events, and the call waited for it). Check the cursor's signature first, and only then query",
      ).toBe(false);
    }
  });

  it("a cursor with any one character changed, or anything added, is refused: cursors are signed", async () => {
    const account = await createAccount("tamper", [1, 2, 1, 2, 1, 2, 1]);
    const { nextCursor } = await feed.listEvents(account, { limit: 3 });
    expect(typeof nextCursor, "the first page of 3 out of 10 events must have a nextCursor").toBe("string");
    const all = alterations(nextCursor!);
    // A very long cursor is sampled evenly, and every alteration aimed at a base64 run's end or at padding is kept.
    const every = Math.max(1, Math.ceil(all.length / 800));
    const variants = all.filter(
      (variant, index) => index % every === 0 || !/^character \d+ changed from/.test(variant.what),
    );
    const accepted: string[] = [];
    for (let start = 0; start < variants.length; start += 20) {
      const batch = variants.slice(start, start + 20);
      const errors = await Promise.all(
        batch.map((variant) => rejection(feed.listEvents(account, { limit: 3, cursor: variant.cursor }))),
      );
      errors.forEach((error, i) => {
        if (!/invalid cursor/i.test(messageOf(error))) accepted.push(batch[i]!.what);
      });
    }
    expect(
      accepted,
      `the grader altered a valid cursor ${variants.length} ways, and listEvents did not refuse ${accepted.length} ` +
        `of them with 'invalid cursor': ${accepted.slice(0, 6).join("; ")}${accepted.length > 6 ? "; ..." : ""}. ` +
        "Any string listEvents did not issue must be refused. Sign what the cursor carries (HMAC-SHA256 with the " +
        "secret in the starter) and compare the signature exactly as you issued it, as text: decoding it first " +
        "(base64 ignores some bits, padding and whitespace; hex ignores case) lets altered cursors through. " +
        "Refuse a cursor that is not exactly your format (no trimming, no extra parts), and compute the HMAC " +
        "over the exact text you send, not over what it decodes to",
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
