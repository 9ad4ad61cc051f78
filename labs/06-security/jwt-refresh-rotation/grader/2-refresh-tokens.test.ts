import { expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import {
  createUser,
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
    const access = await me(second.accessToken);
    expect(access.status, `the access token from refresh must work on GET /me, ${got(access)}`).toBe(200);

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

    const third = await rotate(second.refreshToken, "the second refresh");
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
    const rows = await tokenRowsOf(user);
    expect(rows.length, "a refused refresh must not issue a new token").toBe(1);
    expect(
      (await familiesOf(user))[0]?.revoked_at,
      "an expired token is not a stolen one: keep the family",
    ).toBeNull();

    const missing = await send("POST", "/auth/refresh", { json: {} });
    expect(
      missing.status,
      `refresh without a refreshToken in the body must answer 400, ${got(missing)}`,
    ).toBe(400);
  });
});

task(4, "Detect reuse: revoke the whole family", () => {
  it("presenting an already-rotated refresh token revokes every token of its family, and only that family", async () => {
    const user = await createUser("reuse");
    const stolen = await login(user);
    const otherDevice = await login(user);
    const current = await rotate(stolen.refreshToken, "the owner's refresh");

    // The thief replays the token the owner has already rotated.
    const replay = await refresh(stolen.refreshToken);
    expect(
      replay.status,
      `a refresh token that was already rotated must be refused with 401, ${got(replay)}`,
    ).toBe(401);
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
    const afterTheft = await refresh(current.refreshToken);
    expect(
      afterTheft.status,
      `the newest token of a family revoked for reuse must be refused too (the thief may hold it), ${got(afterTheft)}`,
    ).toBe(401);

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
  });
});
