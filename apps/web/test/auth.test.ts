import { setTimeout as sleep } from "node:timers/promises";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionCookieName } from "../src/server/auth/cookies.ts";
import { SignInThrottle } from "../src/server/auth/sign-in-throttle.ts";
import { startRouterHarness } from "./support/router-harness.ts";

let harness: Awaited<ReturnType<typeof startRouterHarness>>;
beforeAll(async () => {
  harness = await startRouterHarness();
});
afterAll(() => harness[Symbol.asyncDispose]());

async function trpcError(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

describe("sign up", () => {
  it("creates a learner with an argon2id hash and sets an httpOnly, SameSite session cookie", async () => {
    const { api, setCookies } = await harness.call();
    const user = await api.auth.signUp({ email: "  Ada@Example.com ", password: "a long passphrase" });
    expect(user).toMatchObject({ email: "ada@example.com", role: "learner" });
    const stored = await harness.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(stored.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const cookie = setCookies.find((value) => value.startsWith(`${sessionCookieName}=`));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\//);
  });

  it("refuses a second account for the same email, whatever its case", async () => {
    await harness.signUp("grace@example.com");
    const { api } = await harness.call();
    const error = await trpcError(
      api.auth.signUp({ email: "GRACE@example.com", password: "another passphrase" }),
    );
    expect(error.code).toBe("CONFLICT");
  });

  it("refuses short passwords and malformed emails with a message per field", async () => {
    const { api } = await harness.call();
    expect((await trpcError(api.auth.signUp({ email: "x@example.com", password: "short" }))).code).toBe(
      "BAD_REQUEST",
    );
    expect(
      (await trpcError(api.auth.signUp({ email: "not-an-email", password: "long enough pass" }))).code,
    ).toBe("BAD_REQUEST");
  });

  it("refuses passwords that are long enough but easy to guess, and says why", async () => {
    const { api } = await harness.call();
    for (const password of ["1234567890", "qwertyuiop", "password123", "lovelace2024"]) {
      const error = await trpcError(api.auth.signUp({ email: "ada.lovelace@example.com", password }));
      expect(error.code, password).toBe("BAD_REQUEST");
      expect(error.message, password).toMatch(/too easy to guess/);
    }
    await expect(
      harness.db.prisma.user.findUnique({ where: { email: "ada.lovelace@example.com" } }),
    ).resolves.toBeNull();
    await api.auth.signUp({ email: "ada.lovelace@example.com", password: "copper kettle on a wet hill" });
  });
});

describe("sign in and sign out", () => {
  it("signs in with the right password only", async () => {
    await harness.signUp("linus@example.com", "right password here");
    const wrong = await harness.call();
    const error = await trpcError(
      wrong.api.auth.signIn({ email: "linus@example.com", password: "wrong password" }),
    );
    expect(error).toMatchObject({ code: "UNAUTHORIZED", message: "Wrong email or password." });
    const unknown = await trpcError(
      wrong.api.auth.signIn({ email: "nobody@example.com", password: "whatever12" }),
    );
    expect(unknown.message).toBe("Wrong email or password.");

    const right = await harness.call();
    await right.api.auth.signIn({ email: "linus@example.com", password: "right password here" });
    expect(right.setCookies.some((cookie) => cookie.startsWith(`${sessionCookieName}=`))).toBe(true);
  });

  it("ends the session on the server: the old cookie no longer signs anyone in", async () => {
    const { sessionToken } = await harness.signUp("margaret@example.com");
    const signedIn = await harness.call({ sessionToken });
    expect(await signedIn.api.auth.me()).toMatchObject({ email: "margaret@example.com" });

    const { setCookies } = await harness.call({ sessionToken }).then(async (session) => {
      await session.api.auth.signOut();
      return session;
    });
    expect(setCookies.some((cookie) => /Max-Age=0/i.test(cookie))).toBe(true);
    const replayed = await harness.call({ sessionToken });
    expect(await replayed.api.auth.me()).toBeNull();
    await expect(replayed.api.draft.get({ labId: "concurrent-transfers" })).rejects.toMatchObject({
      code: "UNAUTHORIZED",
    });
  });
});

describe("password guessing", () => {
  it("refuses an email after 3 failed sign-ins (the harness's limit), even with the right password", async () => {
    await harness.signUp("guessed@example.com", "the real passphrase");
    const { api } = await harness.call();
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(
        api.auth.signIn({ email: "guessed@example.com", password: `guess ${attempt}` }),
      ).rejects.toMatchObject({
        code: "UNAUTHORIZED",
      });
    }
    await expect(
      api.auth.signIn({ email: "guessed@example.com", password: "the real passphrase" }),
    ).rejects.toMatchObject({
      code: "TOO_MANY_REQUESTS",
      message: "Too many failed sign-ins for this email. Try again in 15 min.",
    });
    // Other accounts are not affected.
    await harness.signUp("bystander@example.com", "bystander passphrase");
    await api.auth.signIn({ email: "bystander@example.com", password: "bystander passphrase" });
  });
});

describe("the sign-in throttle", () => {
  it("counts failures in Postgres: a second web process refuses what the first counted", async () => {
    const first = new SignInThrottle(harness.db.pool, { maxFailures: 2 });
    const second = new SignInThrottle(harness.db.pool, { maxFailures: 2 });
    await first.recordFailure("shared@example.com");
    expect(await second.retryAfterSeconds("shared@example.com")).toBe(0);
    await first.recordFailure("shared@example.com");
    const wait = await second.retryAfterSeconds("shared@example.com");
    expect(wait).toBeGreaterThan(14 * 60);
    expect(wait).toBeLessThanOrEqual(15 * 60);
    await second.recordSuccess("shared@example.com");
    expect(await first.retryAfterSeconds("shared@example.com")).toBe(0);
  });

  it("forgets failures once they leave the window, and drops them from the table", async () => {
    const throttle = new SignInThrottle(harness.db.pool, { maxFailures: 1, windowMs: 500 });
    await throttle.recordFailure("patient@example.com");
    expect(await throttle.retryAfterSeconds("patient@example.com")).toBe(1);
    await sleep(600);
    expect(await throttle.retryAfterSeconds("patient@example.com")).toBe(0);
    await throttle.recordFailure("patient@example.com");
    const { rows } = await harness.db.pool.query(
      "SELECT count(*)::int AS kept FROM sign_in_failures WHERE email = 'patient@example.com'",
    );
    expect(rows).toEqual([{ kept: 1 }]);
  });
});

describe("roles", () => {
  it("makes accounts named in BACKEND_LABS_INSTRUCTOR_EMAILS instructors, and nobody else", async () => {
    const { user } = await harness.signUp("Named-Instructor@example.com");
    expect(user.role).toBe("instructor");
    const { user: learner } = await harness.signUp("plain-learner@example.com");
    expect(learner.role).toBe("learner");
  });
});

describe("CSRF protection", () => {
  it("refuses a state-changing call without the CSRF token", async () => {
    const { sessionToken } = await harness.signUp("csrf-victim@example.com");
    const { api } = await harness.call({ sessionToken, csrf: false });
    const error = await trpcError(api.draft.save({ labId: "concurrent-transfers", files: {} }));
    expect(error.code).toBe("FORBIDDEN");
    expect(error.message).toMatch(/CSRF token/);
  });

  it("refuses a state-changing call from another origin, even with a token", async () => {
    const { api } = await harness.call({ origin: "https://evil.example" });
    const error = await trpcError(
      api.auth.signUp({ email: "evil@example.com", password: "long enough pass" }),
    );
    expect(error).toMatchObject({
      code: "FORBIDDEN",
      message: "requests from https://evil.example are not accepted",
    });
  });

  it("lets reads through without a token", async () => {
    const { api } = await harness.call({ csrf: false });
    expect(await api.auth.me()).toBeNull();
  });
});
