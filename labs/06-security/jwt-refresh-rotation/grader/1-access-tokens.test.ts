import { decodeProtectedHeader, jwtVerify } from "jose";
import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import {
  ACCESS_TOKEN_SECRET,
  ACCESS_TOKEN_TTL_SECONDS,
  AUDIENCE,
  createUser,
  expectErrorBody,
  familiesOf,
  got,
  ISSUER,
  login,
  me,
  REFRESH_TOKEN_TTL_DAYS,
  send,
  sha256Hex,
  signAccessToken,
  tamperedToken,
  tokenRowsOf,
  uid,
  unsignedToken,
} from "./helpers.ts";

task(1, "Log in: issue an access token and a refresh token", () => {
  it("login answers with a signed access token and an opaque refresh token, stored only as its hash", async () => {
    const user = await createUser("login");
    const reply = await send("POST", "/auth/login", { json: { email: user.email, password: user.password } });
    expect(
      reply.status,
      `POST /auth/login with the right email and password must answer 200, ${got(reply)}`,
    ).toBe(200);
    const body = reply.json as Record<string, unknown>;
    expect(
      { tokenType: body.tokenType, expiresIn: body.expiresIn },
      `the login response must say { tokenType: "Bearer", expiresIn: ${ACCESS_TOKEN_TTL_SECONDS} }`,
    ).toEqual({ tokenType: "Bearer", expiresIn: ACCESS_TOKEN_TTL_SECONDS });

    const accessToken = String(body.accessToken);
    expect(
      decodeProtectedHeader(accessToken).alg,
      "the access token must be a JWT signed with HS256 (its header's alg)",
    ).toBe("HS256");
    const { payload } = await jwtVerify(accessToken, ACCESS_TOKEN_SECRET, {
      algorithms: ["HS256"],
      issuer: ISSUER,
      audience: AUDIENCE,
    }).catch((error: Error) => {
      throw new Error(
        `the access token must verify with ACCESS_TOKEN_SECRET, iss ${ISSUER} and aud ${AUDIENCE}: ${error.message}`,
      );
    });
    expect(payload.sub, "the access token's sub must be the user's id").toBe(user.id);
    expect(
      Math.abs((payload.iat ?? 0) - Date.now() / 1000),
      "iat must be the time of issue, in seconds since the epoch",
    ).toBeLessThan(10);
    expect(
      (payload.exp ?? 0) - (payload.iat ?? 0),
      `exp must be iat + ${ACCESS_TOKEN_TTL_SECONDS}: access tokens are short-lived`,
    ).toBe(ACCESS_TOKEN_TTL_SECONDS);

    const refreshToken = String(body.refreshToken);
    expect(
      refreshToken.length >= 43 && !refreshToken.includes(user.id) && refreshToken.split(".").length < 3,
      "the refresh token must be an opaque random string of at least 32 bytes (43 base64url characters), not a JWT: it means nothing without the database",
    ).toBe(true);

    const families = await familiesOf(user);
    expect(
      families.map((family) => ({ revoked_at: family.revoked_at, revoked_reason: family.revoked_reason })),
      "a login must create one token_families row for the user, not revoked",
    ).toEqual([{ revoked_at: null, revoked_reason: null }]);
    const tokens = await tokenRowsOf(user);
    expect(tokens.length, "a login must store one refresh_tokens row, in the new family").toBe(1);
    const row = tokens[0]!;
    expect(
      JSON.stringify(row).includes(refreshToken),
      "the refresh token itself is stored in refresh_tokens: anyone who reads the table (a backup, a replica, " +
        "an SQL injection) can use it. Store only its SHA-256",
    ).toBe(false);
    expect(
      row.token_hash,
      "token_hash must be the lowercase hex SHA-256 of the refresh token: createHash('sha256').update(token).digest('hex')",
    ).toBe(sha256Hex(refreshToken));
    expect(row.family_id, "the refresh token must belong to the login's family").toBe(families[0]!.id);
    expect(
      { revoked_at: row.revoked_at, replaced_by: row.replaced_by },
      "a new refresh token is neither revoked nor replaced",
    ).toEqual({ revoked_at: null, replaced_by: null });
    expect(
      Math.abs(row.expires_in_seconds - REFRESH_TOKEN_TTL_DAYS * 86_400),
      `expires_at must be ${REFRESH_TOKEN_TTL_DAYS} days after the login (got ${(row.expires_in_seconds / 86_400).toFixed(2)} days)`,
    ).toBeLessThan(120);
  });

  it("every login is a family of its own; wrong credentials answer 401 and create nothing", async () => {
    const user = await createUser("two-logins");
    const first = await login(user);
    const second = await login(user);
    expect(second.refreshToken, "two logins must get two different refresh tokens").not.toBe(
      first.refreshToken,
    );
    expect(
      (await familiesOf(user)).length,
      "two logins (two devices) are two token_families rows: logging out of one must not end the other",
    ).toBe(2);

    const victim = await createUser("wrong-password");
    for (const [what, credentials] of [
      ["a wrong password", { email: victim.email, password: `${victim.password}x` }],
      ["an unknown email", { email: `${uid("nobody")}@example.test`, password: victim.password }],
    ] as const) {
      const reply = await send("POST", "/auth/login", { json: credentials });
      expect(reply.status, `login with ${what} must answer 401, ${got(reply)}`).toBe(401);
      expectErrorBody(reply, `login with ${what} answered 401`);
    }
    expect(await familiesOf(victim), "a failed login must not create a family").toEqual([]);

    const malformed = await send("POST", "/auth/login", { raw: "{not json" });
    expect(malformed.status, `login with a body that is not JSON must answer 400, ${got(malformed)}`).toBe(
      400,
    );
    expectErrorBody(malformed, "login with a body that is not JSON answered 400");
    const missing = await send("POST", "/auth/login", { json: { email: victim.email } });
    expect(missing.status, `login without a password must answer 400, ${got(missing)}`).toBe(400);
    expectErrorBody(missing, "login without a password answered 400");
    for (const [what, raw] of [
      ["a password that is a number, not a string", JSON.stringify({ email: victim.email, password: 12345 })],
      ["a JSON array instead of an object", JSON.stringify([victim.email, victim.password])],
      ["the JSON value null instead of an object", "null"],
    ] as const) {
      const reply = await send("POST", "/auth/login", { raw });
      expect(
        reply.status,
        `login with ${what} must answer 400 (check the body's shape and types before anything else: ` +
          `typeof null is "object" too), ${got(reply)}`,
      ).toBe(400);
      expectErrorBody(reply, `login with ${what} answered 400`);
    }
    expect(await familiesOf(victim), "a refused login must not create a family").toEqual([]);
  });
});

task(2, "Verify access tokens on GET /me", () => {
  it("GET /me answers 200 { userId } for a valid access token", async () => {
    const user = await createUser("me");
    const { accessToken } = await login(user);
    const reply = await me(accessToken);
    expect(reply.status, `GET /me with the access token from login must answer 200, ${got(reply)}`).toBe(200);
    expect(reply.json, "GET /me must answer { userId: <the token's sub> }").toEqual({ userId: user.id });

    // A token from another instance of the auth service: same secret, same claims.
    const sub = uid("elsewhere");
    const other = await me(await signAccessToken(sub));
    expect(
      other.status,
      `GET /me must accept any valid token signed with ACCESS_TOKEN_SECRET (the grader signed one), ${got(other)}`,
    ).toBe(200);
    expect(other.json, "GET /me must answer with the token's sub").toEqual({ userId: sub });
  });

  it("GET /me refuses, with 401 and WWW-Authenticate: Bearer, every token it must not trust", async () => {
    const sub = uid("attacker");
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string | undefined][] = [
      ["no Authorization header", undefined],
      ["a Basic Authorization header", `Basic ${Buffer.from("user:pass").toString("base64")}`],
      ["a token that is not a JWT", "Bearer not-a-jwt"],
      [
        'a valid token followed by "!" (the credential is then not a JWT)',
        `Bearer ${await signAccessToken(sub)}!`,
      ],
      ['a valid token under a scheme named "NotBearer"', `NotBearer ${await signAccessToken(sub)}`],
      ['an unsigned token ("alg": "none")', `Bearer ${unsignedToken(sub)}`],
      [
        "a token signed with another secret",
        `Bearer ${await signAccessToken(sub, { secret: new TextEncoder().encode("a-different-secret-of-32-bytes-or-more") })}`,
      ],
      [
        "a valid token whose payload was changed to another user",
        `Bearer ${await tamperedToken(uid("real"), sub)}`,
      ],
      [
        "a token that expired a minute ago",
        `Bearer ${await signAccessToken(sub, { claims: { iat: now - 360, exp: now - 60 } })}`,
      ],
      [
        "a token that expired 30 seconds ago (more than the 5 s of clock skew allowed)",
        `Bearer ${await signAccessToken(sub, { claims: { iat: now - 330, exp: now - 30 } })}`,
      ],
      [
        "a token without exp (it would never expire)",
        `Bearer ${await signAccessToken(sub, { without: ["exp"] })}`,
      ],
      [
        "a token issued an hour in the future",
        `Bearer ${await signAccessToken(sub, { claims: { iat: now + 3600, exp: now + 3600 + ACCESS_TOKEN_TTL_SECONDS } })}`,
      ],
      [
        "a token issued 30 seconds in the future (more than the 5 s of clock skew allowed)",
        `Bearer ${await signAccessToken(sub, { claims: { iat: now + 30, exp: now + 30 + ACCESS_TOKEN_TTL_SECONDS } })}`,
      ],
      [
        "a token signed with HS512 instead of HS256 (same secret)",
        `Bearer ${await signAccessToken(sub, { alg: "HS512" })}`,
      ],
      [
        "a token for another audience",
        `Bearer ${await signAccessToken(sub, { claims: { aud: "https://billing.backend-labs.test" } })}`,
      ],
      [
        "a token from another issuer",
        `Bearer ${await signAccessToken(sub, { claims: { iss: "https://evil.example" } })}`,
      ],
    ];
    const hints: Record<string, string> = {
      'followed by "!"':
        'verify the whole credential after "Bearer ": a JWT-shaped prefix of it is not the token',
      NotBearer:
        'the scheme must be exactly Bearer: match "Bearer " at the start of the header, not anywhere in it',
      '"none"': 'pass algorithms: ["HS256"] to jwtVerify, and never decode a token without verifying it',
      "another secret":
        "verify the signature with ACCESS_TOKEN_SECRET (jwtVerify), not just decode the token",
      "changed to another user": "verify the signature over the header and payload (jwtVerify)",
      HS512:
        'pass algorithms: ["HS256"] to jwtVerify: the token must not choose its own algorithm, even among HMACs',
      "30 seconds ago": "allow at most 5 seconds of clock skew (clockTolerance: 5)",
      "30 seconds in the future":
        "set maxTokenAge (and at most 5 seconds of clockTolerance): jose then refuses an iat in the future",
      expired: "jwtVerify checks exp; verifying only the signature does not",
      "without exp": 'jose checks exp only when the token has one: requiredClaims: ["exp", ...]',
      future: "set maxTokenAge: jose then also refuses an iat in the future",
      audience: "pass audience to jwtVerify: a token minted for another API must not work on this one",
      issuer: "pass issuer to jwtVerify",
    };
    for (const [what, authorization] of cases) {
      const reply = await send("GET", "/me", authorization === undefined ? {} : { authorization });
      const hint = Object.entries(hints).find(([key]) => what.includes(key))?.[1];
      expect(
        reply.status,
        `GET /me with ${what} must answer 401, ${got(reply)}${hint ? `: ${hint}` : ""}`,
      ).toBe(401);
      expect(
        reply.headers.get("www-authenticate") ?? "",
        `a 401 from GET /me (${what}) must carry a WWW-Authenticate header starting with "Bearer" (RFC 6750)`,
      ).toMatch(/^Bearer/i);
      expectErrorBody(reply, `GET /me with ${what} answered 401`);
    }
  });
});
