import { expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import {
  createUser,
  expectErrorBody,
  familiesOf,
  got,
  login,
  me,
  raceOnLockedToken,
  refresh,
  REFRESH_TOKEN_TTL_DAYS,
  type Reply,
  send,
  sha256Hex,
  type TokenPair,
  storedTokenRow,
  tokenRowsOf,
  withFailingReplacedBy,
} from "./helpers.ts";

/** Refreshes and fails the test with what the server said unless it answered 200. */
async function rotate(refreshToken: string, what: string): Promise<TokenPair> {
  const reply = await refresh(refreshToken);
  expect(
    reply.status,
    `${what}: POST /auth/refresh with a valid refresh token must answer 200, ${got(reply)}`,
  ).toBe(200);
  return reply.json as TokenPair;
}

task(3, "Rotate the refresh token on every use", () => {
  it("refresh answers a new token pair, revokes the old token and links it to its successor in the same family", async () => {
    const user = await createUser("rotate");
    const first = await login(user);
    const second = await rotate(first.refreshToken, "the first refresh");
    expect(second.refreshToken, "every refresh must issue a new refresh token").not.toBe(first.refreshToken);
    expect(typeof second.accessToken, "every refresh must issue a new access token").toBe("string");
    expect(
      { tokenType: second.tokenType, expiresIn: second.expiresIn },
      'a refresh answers a whole token pair, like login: { accessToken, refreshToken, tokenType: "Bearer", expiresIn: 300 }',
    ).toEqual({ tokenType: "Bearer", expiresIn: 300 });
    const access = await me(second.accessToken);
    expect(access.status, `the access token from refresh must work on GET /me, ${got(access)}`).toBe(200);
    expect(
      access.json,
      "the access token from a refresh must be for the family's user (sub = token_families.user_id)",
    ).toEqual({ userId: user.id });

    const old = await storedTokenRow(first.refreshToken, "from login");
    const next = await storedTokenRow(second.refreshToken, "from the refresh");
    expect(
      old?.revoked_at,
      "the refresh token that was used must be revoked (revoked_at set)",
    ).not.toBeNull();
    expect(
      old?.replaced_by,
      "the used token's replaced_by must name the new token's row: that chain is what reuse detection and audits follow",
    ).toBe(next?.id);
    expect(next?.family_id, "the new token must belong to the same family as the old one").toBe(
      old?.family_id,
    );
    expect(next?.revoked_at, "the new refresh token must not be revoked").toBeNull();
    expect(
      Math.abs((next?.expires_in_seconds ?? 0) - REFRESH_TOKEN_TTL_DAYS * 86_400),
      `the new token expires ${REFRESH_TOKEN_TTL_DAYS} days after the refresh`,
    ).toBeLessThan(120);

    // Shorten the current token's life: its successor must still get a full 14 days from the refresh.
    await postgres().query("UPDATE refresh_tokens SET expires_at = now() + interval '1 day' WHERE id = $1", [
      next.id,
    ]);
    const third = await rotate(second.refreshToken, "the second refresh");
    const newest = await storedTokenRow(third.refreshToken, "from the second refresh");
    expect(
      Math.abs(newest.expires_in_seconds - REFRESH_TOKEN_TTL_DAYS * 86_400),
      `a successor expires ${REFRESH_TOKEN_TTL_DAYS} days after the refresh (now() + 14 days), not when the token it ` +
        `replaces would have expired (got ${(newest.expires_in_seconds / 86_400).toFixed(2)} days)`,
    ).toBeLessThan(120);
    const rows = await tokenRowsOf(user);
    expect(rows.length, "login + 2 refreshes: 3 refresh_tokens rows in one family").toBe(3);
    expect(
      rows.filter((row) => row.revoked_at === null).map((row) => row.token_hash),
      "after two rotations exactly one token of the family is usable: the newest",
    ).toEqual([sha256Hex(third.refreshToken)]);
    expect((await familiesOf(user))[0]?.revoked_at, "rotating never revokes the family").toBeNull();
  });

  it("unknown, expired and missing refresh tokens are refused and change nothing", async () => {
    const user = await createUser("refused");
    const { refreshToken } = await login(user);

    const unknown = await refresh("x".repeat(43));
    expect(
      unknown.status,
      `refresh with a token that was never issued must answer 401, ${got(unknown)}`,
    ).toBe(401);
    expectErrorBody(unknown, "refresh with a token that was never issued answered 401");

    const stored = await storedTokenRow(refreshToken, "from login");
    await postgres().query(
      "UPDATE refresh_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1",
      [stored.id],
    );
    const expired = await refresh(refreshToken);
    expect(
      expired.status,
      `refresh with a token whose expires_at has passed must answer 401, ${got(expired)}: check expires_at`,
    ).toBe(401);
    expectErrorBody(expired, "refresh with an expired token answered 401");
    const rows = await tokenRowsOf(user);
    expect(rows.length, "a refused refresh must not issue a new token").toBe(1);
    expect(
      { revoked_at: rows[0]?.revoked_at, replaced_by: rows[0]?.replaced_by },
      "an expired refresh token answers 401 and changes nothing: do not revoke or rotate it (expiry is not reuse)",
    ).toEqual({ revoked_at: null, replaced_by: null });
    expect(
      (await familiesOf(user))[0]?.revoked_at,
      "an expired token is not a stolen one: keep the family",
    ).toBeNull();

    const missing = await send("POST", "/auth/refresh", { json: {} });
    expect(
      missing.status,
      `refresh without a refreshToken in the body must answer 400, ${got(missing)}`,
    ).toBe(400);
    expectErrorBody(missing, "refresh without a refreshToken answered 400");
    const notString = await send("POST", "/auth/refresh", { json: { refreshToken: 12345 } });
    expect(
      notString.status,
      `refresh with a refreshToken that is not a string must answer 400, ${got(notString)}`,
    ).toBe(400);
    const nullBody = await send("POST", "/auth/refresh", { raw: "null" });
    expect(
      nullBody.status,
      `refresh with the JSON value null as its body has no refreshToken string and must answer 400 ` +
        `(typeof null is "object" too), ${got(nullBody)}`,
    ).toBe(400);
  });

  it("a rotation that fails half-way leaves nothing behind: its writes are one transaction", async () => {
    const user = await createUser("atomic");
    const { refreshToken } = await login(user);
    const row = await storedTokenRow(refreshToken, "from login");
    // The grader makes the database refuse the last of the three writes (pointing replaced_by at the
    // successor) for this one token, as a crash or a lost connection at that moment would.
    const reply = await withFailingReplacedBy(row.id, () => refresh(refreshToken));
    expect(
      reply.status,
      `the grader made setting replaced_by fail, so this refresh cannot succeed, ${got(reply)}`,
    ).not.toBe(200);
    expectErrorBody(reply, "a refresh whose last write failed (the grader made the database refuse it)");
    const rows = await tokenRowsOf(user);
    expect(
      rows.length,
      "a refresh whose last write failed left a successor token behind: insert the successor, revoke the old " +
        "token and set its replaced_by in ONE transaction (BEGIN ... COMMIT on one client), so a failure rolls all back",
    ).toBe(1);
    expect(
      { revoked_at: rows[0]?.revoked_at, replaced_by: rows[0]?.replaced_by },
      "a refresh that failed half-way left the presented token revoked: the client never got its successor and " +
        "is logged out. Do the three writes in one transaction",
    ).toEqual({ revoked_at: null, replaced_by: null });
    await rotate(refreshToken, "the retry after the failed refresh");
  });
});

task(4, "Detect reuse: revoke the whole family", () => {
  it("presenting an already-rotated refresh token revokes every token of its family, and only that family", async () => {
    const user = await createUser("reuse");
    const stolen = await login(user);
    const otherDevice = await login(user);
    const current = await rotate(stolen.refreshToken, "the owner's refresh");
    const rotatedAt = (await storedTokenRow(stolen.refreshToken, "from login")).revoked_at;

    // The thief replays the token the owner has already rotated.
    const replay = await refresh(stolen.refreshToken);
    expect(
      replay.status,
      `a refresh token that was already rotated must be refused with 401, ${got(replay)}`,
    ).toBe(401);
    expectErrorBody(replay, "the replay of a rotated refresh token answered 401");
    const familyId = (await storedTokenRow(stolen.refreshToken, "from login")).family_id;
    const revoked = (await familiesOf(user)).find((row) => row.id === familyId);
    expect(
      { revoked: revoked?.revoked_at !== null, reason: revoked?.revoked_reason },
      "reuse of a rotated token means two parties hold tokens of this login (one of them a thief): set the " +
        "family's revoked_at and revoked_reason = 'reuse', and COMMIT that even though the request answers 401",
    ).toEqual({ revoked: true, reason: "reuse" });
    const rows = (await tokenRowsOf(user)).filter((row) => row.family_id === familyId);
    expect(
      rows.filter((row) => row.revoked_at === null).length,
      "every refresh token of the revoked family must have revoked_at set",
    ).toBe(0);
    expect(
      (await storedTokenRow(stolen.refreshToken, "from login")).revoked_at?.getTime(),
      "revoking the family sets revoked_at only on tokens that have none (... WHERE revoked_at IS NULL): the " +
        "rotated token keeps the time it was rotated, which an audit of the theft needs",
    ).toBe(rotatedAt?.getTime());
    const afterTheft = await refresh(current.refreshToken);
    expect(
      afterTheft.status,
      `the newest token of a family revoked for reuse must be refused too (the thief may hold it), ${got(afterTheft)}`,
    ).toBe(401);
    expectErrorBody(afterTheft, "a refresh with the newest token of a family revoked for reuse answered 401");
    const replayAgain = await refresh(stolen.refreshToken);
    expect(replayAgain.status, `a token of a revoked family must answer 401, ${got(replayAgain)}`).toBe(401);
    const familyAfter = (await familiesOf(user)).find((row) => row.id === familyId);
    expect(
      { revoked_at: familyAfter?.revoked_at?.getTime(), reason: familyAfter?.revoked_reason },
      "a token of an already revoked family just answers 401 and changes nothing: revoke only a family whose " +
        "revoked_at is NULL, so the first revocation's time and reason stay",
    ).toEqual({ revoked_at: revoked?.revoked_at?.getTime(), reason: "reuse" });
    expect(
      (await tokenRowsOf(user))
        .filter((row) => row.family_id === familyId)
        .map((row) => row.revoked_at?.getTime()),
      "a token of an already revoked family changes nothing: the tokens' revoked_at stay as they were",
    ).toEqual(rows.map((row) => row.revoked_at?.getTime()));

    const untouched = await rotate(
      otherDevice.refreshToken,
      "the other device, a separate login of the same user",
    );
    expect(typeof untouched.refreshToken, "another login of the same user keeps working").toBe("string");
  });
});

task(5, "Let exactly one concurrent refresh win", () => {
  it("8 concurrent refreshes with one token: exactly one answers 200 and exactly one successor exists", async () => {
    const user = await createUser("race");
    const { refreshToken } = await login(user);
    const row = await storedTokenRow(refreshToken, "from login");
    const replies: Reply[] = await raceOnLockedToken(row.id, 8, () =>
      Array.from({ length: 8 }, () => refresh(refreshToken)),
    );
    const statuses = replies.map((reply) => reply.status).sort();
    const successors = (await tokenRowsOf(user)).filter((token) => token.id !== row.id);
    expect(
      successors.length,
      `8 concurrent refreshes of one token created ${successors.length} new refresh tokens: each request read the ` +
        "token as unused, then rotated it. Decide under a lock: SELECT ... FOR UPDATE (on the token or its family) " +
        "before checking it, or an UPDATE ... WHERE revoked_at IS NULL whose row count says who won",
    ).toBe(1);
    expect(
      statuses.filter((status) => status === 200).length,
      `exactly one of 8 concurrent refreshes may answer 200; got statuses ${statuses.join(", ")}`,
    ).toBe(1);
    expect(
      statuses.filter((status) => status === 401).length,
      `the other 7 concurrent refreshes present a token that is no longer valid: 401; got statuses ${statuses.join(", ")}`,
    ).toBe(7);
    const used = await storedTokenRow(refreshToken, "from login");
    expect(used?.replaced_by, "the token's replaced_by must name the one successor").toBe(successors[0]?.id);
    const family = (await familiesOf(user))[0];
    expect(
      { revoked: family?.revoked_at !== null, reason: family?.revoked_reason },
      "the 7 losers presented a token that had just been rotated: that is reuse (task 4), so the family must " +
        "end revoked with reason 'reuse'. Decide each loser's answer from the row as the winner left it",
    ).toEqual({ revoked: true, reason: "reuse" });
    expect(
      (await tokenRowsOf(user)).filter((token) => token.revoked_at === null).length,
      "after the race the family is revoked for reuse, so no token of it (the successor included) may stay unrevoked",
    ).toBe(0);
  });
});
