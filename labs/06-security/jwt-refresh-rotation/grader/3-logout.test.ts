import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import { createUser, familiesOf, got, login, refresh, send, storedTokenRow, tokenRowsOf } from "./helpers.ts";

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

    const after = await refresh(current);
    expect(
      after.status,
      `the refresh token of a logged-out login must be refused with 401, ${got(after)}`,
    ).toBe(401);
    expect(
      (await familiesOf(user)).find((row) => row.id === familyId)?.revoked_reason,
      "presenting a token of a family that is already revoked changes nothing: the reason stays 'logout'",
    ).toBe("logout");

    const again = await logout(current);
    expect(again.status, `logging out twice must answer 204 again (a client retries), ${got(again)}`).toBe(
      204,
    );
    const unknown = await logout("y".repeat(43));
    expect(unknown.status, `logout with a token that was never issued must answer 401, ${got(unknown)}`).toBe(
      401,
    );

    const other = await refresh(otherDevice.refreshToken);
    expect(
      other.status,
      `logging out on one device must not end the user's other logins, ${got(other)}`,
    ).toBe(200);
  });
});
