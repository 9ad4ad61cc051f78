import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import {
  createUser,
  expectErrorBody,
  familiesOf,
  got,
  login,
  me,
  refresh,
  send,
  storedTokenRow,
  tokenRowsOf,
} from "./helpers.ts";

function logout(refreshToken: string) {
  return send("POST", "/auth/logout", { json: { refreshToken } });
}

task(6, "Log out: revoke the family", () => {
  it("logout answers 204 and revokes the login's family and every token in it, and nothing else", async () => {
    const user = await createUser("logout");
    const session = await login(user);
    const otherDevice = await login(user);
    const rotated = await refresh(session.refreshToken);
    expect(rotated.status, `refresh before logout must work, ${got(rotated)}`).toBe(200);
    const current = (rotated.json as { refreshToken: string }).refreshToken;

    const reply = await logout(current);
    expect(reply.status, `POST /auth/logout with a valid refresh token must answer 204, ${got(reply)}`).toBe(
      204,
    );
    const familyId = (await storedTokenRow(current, "from the refresh")).family_id;
    const family = (await familiesOf(user)).find((row) => row.id === familyId);
    expect(
      { revoked: family?.revoked_at !== null, reason: family?.revoked_reason },
      "logout must set the family's revoked_at, with revoked_reason = 'logout'",
    ).toEqual({ revoked: true, reason: "logout" });
    const active = (await tokenRowsOf(user)).filter(
      (row) => row.family_id === familyId && row.revoked_at === null,
    );
    expect(active.length, "after logout no refresh token of that family may be unrevoked").toBe(0);

    const stillValid = await me((rotated.json as { accessToken: string }).accessToken);
    expect(
      stillValid.status,
      `an access token issued before the logout stays valid until it expires (it is stateless: GET /me checks ` +
        `no table), ${got(stillValid)}`,
    ).toBe(200);

    const after = await refresh(current);
    expect(
      after.status,
      `the refresh token of a logged-out login must be refused with 401, ${got(after)}`,
    ).toBe(401);
    expect(
      (await familiesOf(user)).find((row) => row.id === familyId)?.revoked_reason,
      "presenting a token of a family that is already revoked changes nothing: the reason stays 'logout'",
    ).toBe("logout");

    const loggedOutAt = (await familiesOf(user)).find((row) => row.id === familyId)?.revoked_at;
    const again = await logout(current);
    expect(again.status, `logging out twice must answer 204 again (a client retries), ${got(again)}`).toBe(
      204,
    );
    const afterAgain = (await familiesOf(user)).find((row) => row.id === familyId);
    expect(
      { revoked_at: afterAgain?.revoked_at?.getTime(), reason: afterAgain?.revoked_reason },
      "logging out again keeps the family as the first logout left it: update only a family whose revoked_at is NULL",
    ).toEqual({ revoked_at: loggedOutAt?.getTime(), reason: "logout" });
    const unknown = await logout("y".repeat(43));
    expect(unknown.status, `logout with a token that was never issued must answer 401, ${got(unknown)}`).toBe(
      401,
    );
    expectErrorBody(unknown, "logout with a token that was never issued answered 401");

    const other = await refresh(otherDevice.refreshToken);
    expect(
      other.status,
      `logging out on one device must not end the user's other logins, ${got(other)}`,
    ).toBe(200);
  });

  it("logout accepts a rotated token of the login, and keeps the reason of a family already revoked for reuse", async () => {
    const user = await createUser("logout-rotated");
    const session = await login(user);
    const rotated = await refresh(session.refreshToken);
    expect(rotated.status, `refresh before logout must work, ${got(rotated)}`).toBe(200);

    // The client still holds only the old, rotated token (it lost the refresh answer) and logs out with it.
    const reply = await logout(session.refreshToken);
    expect(
      reply.status,
      `logout with a rotated refresh token of a live login must answer 204: logout ends the login of any token ` +
        `the server issued, rotated ones included, ${got(reply)}`,
    ).toBe(204);
    const familyId = (await storedTokenRow(session.refreshToken, "from login")).family_id;
    const family = (await familiesOf(user)).find((row) => row.id === familyId);
    expect(
      { revoked: family?.revoked_at !== null, reason: family?.revoked_reason },
      "logout with a rotated token must revoke the family with revoked_reason = 'logout' (it is a logout, not reuse)",
    ).toEqual({ revoked: true, reason: "logout" });
    expect(
      (await tokenRowsOf(user)).filter((row) => row.revoked_at === null).length,
      "after logout no refresh token of that family may be unrevoked, the successor included",
    ).toBe(0);

    const victim = await createUser("logout-after-reuse");
    const stolen = await login(victim);
    const owner = await refresh(stolen.refreshToken);
    expect(owner.status, `refresh before the replay must work, ${got(owner)}`).toBe(200);
    const replay = await refresh(stolen.refreshToken);
    expect(replay.status, `a replayed rotated token must answer 401, ${got(replay)}`).toBe(401);
    const [revoked] = await familiesOf(victim);
    const out = await logout((owner.json as { refreshToken: string }).refreshToken);
    expect(out.status, `logout of a login already revoked for reuse must answer 204, ${got(out)}`).toBe(204);
    const [after] = await familiesOf(victim);
    expect(
      { revoked_at: after?.revoked_at?.getTime(), reason: after?.revoked_reason },
      "a logout of a family already revoked for reuse keeps revoked_at and revoked_reason = 'reuse': the record " +
        "of a theft must not be overwritten by a later logout",
    ).toEqual({ revoked_at: revoked?.revoked_at?.getTime(), reason: "reuse" });
  });
});
