import { randomUUID } from "node:crypto";
import { beforeAll, expect, it } from "vitest";
import { learner, type LearnerInstance, redis, startLearner, task } from "@backend-labs/graders";

interface Reply {
  status: number;
  body: unknown;
  setCookies: string[];
}

interface Session {
  userId: string;
  sid: string;
  /** The Cookie header a browser would send back. */
  cookie: string;
  setCookie: string;
}

/** Settings of the two instances behind the grader's imaginary load balancer. */
const SESSION_TTL_MS = 60_000;
const CART_TTL_MS = 120_000;
const instanceEnv = { SESSION_TTL_MS: String(SESSION_TTL_MS), CART_TTL_MS: String(CART_TTL_MS) };
/** The README's defaults (30 minutes, 7 days), which the runner's own copy (no extra environment) runs with. */
const DEFAULT_SESSION_TTL_MS = 30 * 60 * 1000;
const DEFAULT_CART_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** How long the grader holds every Redis write to line concurrent requests up. */
const WRITE_PAUSE_MS = 300;

let a: LearnerInstance;
let b: LearnerInstance;

beforeAll(async () => {
  [a, b] = await Promise.all([
    startLearner({ INSTANCE: "a", ...instanceEnv }),
    startLearner({ INSTANCE: "b", ...instanceEnv }),
  ]);
});

const newUserId = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;
const sessionKey = (sid: string): string => `session:${sid}`;
const cartKey = (userId: string): string => `cart:${userId}`;

async function call(
  instance: LearnerInstance,
  method: string,
  path: string,
  options: { cookie?: string; body?: unknown; rawBody?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.cookie) headers.cookie = options.cookie;
  const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (payload !== undefined) headers["content-type"] = "application/json";
  const response = await instance.fetch(path, {
    method,
    headers,
    ...(payload !== undefined && { body: payload }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: the assertion shows the text.
  }
  return { status: response.status, body, setCookies: response.headers.getSetCookie() };
}

async function login(instance: LearnerInstance, userId: string): Promise<Session> {
  const reply = await call(instance, "POST", "/login", { body: { userId } });
  expect(reply.status, `POST /login {"userId": "${userId}"} must answer 201`).toBe(201);
  expect(
    reply.body,
    `POST /login {"userId": "${userId}"} must answer 201 with the logged-in user as JSON: {"userId": "${userId}"}`,
  ).toMatchObject({ userId });
  const setCookie = reply.setCookies.find((cookie) => cookie.startsWith("sid=")) ?? "";
  const sid = /^sid=([^;]*)/.exec(setCookie)?.[1] ?? "";
  expect(
    sid,
    `POST /login must set the session cookie: Set-Cookie: sid=<session id>; ... (got ${JSON.stringify(reply.setCookies)})`,
  ).not.toBe("");
  return { userId, sid, cookie: `sid=${sid}`, setCookie };
}

const me = (instance: LearnerInstance, session: Session) =>
  call(instance, "GET", "/me", { cookie: session.cookie });
const cart = (instance: LearnerInstance, session: Session) =>
  call(instance, "GET", "/cart", { cookie: session.cookie });
const addItem = (instance: LearnerInstance, session: Session, sku: unknown, quantity: unknown) =>
  call(instance, "POST", "/cart/items", { cookie: session.cookie, body: { sku, quantity } });

async function storedCart(userId: string): Promise<Record<string, string>> {
  return redis().hgetall(cartKey(userId));
}

task(1, "Keep sessions in Redis, so any instance can serve any request", () => {
  it("a session created on one instance is valid on every instance, and is stored as session:<sid> with a TTL", async () => {
    const session = await login(a, newUserId("alice"));
    expect(session.setCookie, "the session cookie must be HttpOnly, so page scripts cannot steal it").toMatch(
      /;\s*HttpOnly/i,
    );
    expect(session.setCookie, "the session cookie must be SameSite=Lax").toMatch(/;\s*SameSite=Lax/i);
    expect(session.setCookie, "the session cookie must be sent for every path: Path=/").toMatch(
      /;\s*Path=\//i,
    );

    expect(
      await redis().hget(sessionKey(session.sid), "userId"),
      `the session must live in Redis as the hash ${sessionKey(session.sid)} with field userId: an instance ` +
        "that keeps sessions in its own memory cannot serve the user's next request, which the load balancer " +
        "may send to any instance",
    ).toBe(session.userId);
    const pttl = await redis().pttl(sessionKey(session.sid));
    expect(
      pttl,
      `${sessionKey(session.sid)} has PTTL ${pttl}: it must expire SESSION_TTL_MS (${SESSION_TTL_MS} ms here) after ` +
        "the last request, or abandoned sessions pile up in Redis forever",
    ).toBeGreaterThan(SESSION_TTL_MS - 5_000);
    expect(pttl, "the TTL is SESSION_TTL_MS milliseconds (PEXPIRE or PX)").toBeLessThanOrEqual(
      SESSION_TTL_MS,
    );

    for (const [name, instance] of [
      ["b", b],
      ["a", a],
      ["the runner's copy", learner()],
    ] as const) {
      const reply = await me(instance, session);
      expect(
        reply,
        `GET /me on instance ${name} with the cookie from a login on instance a must answer 200 with the user`,
      ).toMatchObject({ status: 200, body: { userId: session.userId } });
    }
    expect(
      await call(b, "GET", "/me", { cookie: `theme=dark; ${session.cookie}; lang=en` }),
      "a browser sends all of the site's cookies in one Cookie header (theme=dark; sid=...; lang=en): GET /me " +
        "must find the sid cookie among the others, wherever it is, and answer 200 with the user",
    ).toMatchObject({ status: 200, body: { userId: session.userId } });
    expect((await call(b, "GET", "/me")).status, "GET /me without a cookie must answer 401").toBe(401);
    expect(
      (await call(b, "GET", "/me", { cookie: "sid=forged-session-id" })).status,
      "GET /me with a session id that is not in Redis must answer 401",
    ).toBe(401);
  });

  it("SESSION_TTL_MS defaults to 30 minutes", async () => {
    const session = await login(learner(), newUserId("default-ttl"));
    const pttl = await redis().pttl(sessionKey(session.sid));
    expect(
      pttl,
      `the runner's copy runs without SESSION_TTL_MS, so ${sessionKey(session.sid)} must get the default TTL of ` +
        `30 minutes (${DEFAULT_SESSION_TTL_MS} ms), not ${pttl}`,
    ).toBeGreaterThan(DEFAULT_SESSION_TTL_MS - 60_000);
    expect(pttl, "the default TTL is 30 minutes").toBeLessThanOrEqual(DEFAULT_SESSION_TTL_MS);
  });

  it("POST /login takes a userId that is a string of 1 to 100 characters, and nothing else", async () => {
    const bad: unknown[] = [123, true, null, ["u-1"], { id: "u-1" }, "", "x".repeat(101)];
    for (const userId of bad) {
      const reply = await call(a, "POST", "/login", { body: { userId } });
      expect(
        reply.status,
        `POST /login {"userId": ${JSON.stringify(userId)}} must answer 400: userId must be a string of 1 to 100 ` +
          'characters. Do not turn other values into strings (123 would become the user "123")',
      ).toBe(400);
      expect(
        reply.setCookies.some((cookie) => cookie.startsWith("sid=")),
        `a refused login must not set a session cookie (userId ${JSON.stringify(userId)})`,
      ).toBe(false);
    }
    const garbled = await call(a, "POST", "/login", { rawBody: '{"userId": "u-1"' });
    expect(
      garbled.status,
      `POST /login with a body that is not JSON ('{"userId": "u-1"') carries no userId, so it must answer 400 ` +
        `(got ${garbled.status}): catch the JSON parse error and refuse the request`,
    ).toBe(400);
    expect((await login(b, "x".repeat(100))).userId, "a userId of 100 characters is allowed").toHaveLength(
      100,
    );
  });

  it("every login creates a new random session id, whatever session cookie the browser sends", async () => {
    const planted = "sid=chosen-by-somebody-else-0123456789abcdef";
    const reply = await call(a, "POST", "/login", { cookie: planted, body: { userId: newUserId("fixed") } });
    expect(reply.status, "POST /login must answer 201").toBe(201);
    const issued = /^sid=([^;]*)/.exec(reply.setCookies.find((c) => c.startsWith("sid=")) ?? "")?.[1];
    expect(
      issued,
      "POST /login kept the session id the browser sent: whoever planted that cookie (session fixation) now " +
        "shares the logged-in session. Every login must create a new session with a fresh random id",
    ).not.toBe(planted.slice("sid=".length));
    const other = await login(a, newUserId("other"));
    const relogin = await call(b, "POST", "/login", {
      cookie: other.cookie,
      body: { userId: newUserId("next") },
    });
    const reissued = /^sid=([^;]*)/.exec(relogin.setCookies.find((c) => c.startsWith("sid=")) ?? "")?.[1];
    expect(
      reissued,
      "logging in with another user's session cookie must not reuse that session id: it belongs to the other user",
    ).not.toBe(other.sid);
    expect((await me(a, other)).body, "the other user's session must still name the other user").toEqual({
      userId: other.userId,
    });
  });

  it("two users logging in at the same moment on two instances get distinct, unguessable sessions", async () => {
    const [first, second] = await Promise.all([login(a, newUserId("first")), login(b, newUserId("second"))]);
    expect(
      first.sid === second.sid,
      `both instances handed out the session id ${JSON.stringify(first.sid)}: an id from a counter in each ` +
        "process collides as soon as there are two processes. Use a random id (crypto.randomBytes)",
    ).toBe(false);
    expect(
      first.sid.length,
      `the session id ${JSON.stringify(first.sid)} is too short to be unguessable: use at least 128 random bits ` +
        "(randomBytes(32).toString('base64url') gives 43 characters)",
    ).toBeGreaterThanOrEqual(22);
    const sids = [first.sid, second.sid];
    for (let index = 0; index < 14; index++)
      sids.push((await login(index % 2 ? a : b, newUserId("bits"))).sid);
    const bits = randomBitsOf(sids);
    expect(
      bits,
      `session ids such as ${JSON.stringify(first.sid)} carry at most ${Math.floor(bits)} random bits (the ` +
        "positions that change from one id to the next, times the bits of their alphabet): the README asks for " +
        "at least 128. A UUID carries only 122; randomBytes(32).toString('base64url') carries 256",
    ).toBeGreaterThanOrEqual(128);
    expect(await me(b, first), "the first user's cookie must still name the first user").toMatchObject({
      status: 200,
      body: { userId: first.userId },
    });
    expect(await me(a, second), "the second user's cookie must still name the second user").toMatchObject({
      status: 200,
      body: { userId: second.userId },
    });
  });
});

/**
 * Random bits a set of ids can carry at most: the positions that differ between them, times the bits of
 * the alphabet they use. A fixed character (a UUID's dashes and version digit) carries none.
 */
function randomBitsOf(ids: string[]): number {
  const length = Math.min(...ids.map((id) => id.length));
  const alphabet = new Set<string>();
  let varying = 0;
  for (let position = 0; position < length; position++) {
    const seen = new Set(ids.map((id) => id[position]!));
    if (seen.size < 2) continue;
    varying++;
    for (const character of seen) alphabet.add(character);
  }
  return varying * Math.ceil(Math.log2(Math.max(alphabet.size, 2)));
}

task(2, "Slide the session's expiry, and log out everywhere", () => {
  it("every authenticated request resets the session's TTL; a session gone from Redis is refused everywhere", async () => {
    const session = await login(a, newUserId("sliding"));
    // As if the user had been idle for most of the TTL.
    await redis().pexpire(sessionKey(session.sid), 5_000);
    expect((await me(b, session)).status, "GET /me on b with a live session must answer 200").toBe(200);
    const afterMe = await redis().pttl(sessionKey(session.sid));
    expect(
      afterMe,
      `after GET /me the session's PTTL is ${afterMe}: every authenticated request must push the expiry back to ` +
        `SESSION_TTL_MS (${SESSION_TTL_MS} ms), so that active users are not logged out in the middle of their visit`,
    ).toBeGreaterThan(SESSION_TTL_MS - 5_000);

    await redis().pexpire(sessionKey(session.sid), 5_000);
    expect((await cart(a, session)).status, "GET /cart with a live session must answer 200").toBe(200);
    expect(
      await redis().pttl(sessionKey(session.sid)),
      "GET /cart is an authenticated request too: it must reset the session's TTL as well",
    ).toBeGreaterThan(SESSION_TTL_MS - 5_000);

    // The session expires (or an admin revokes it).
    await redis().del(sessionKey(session.sid));
    for (const [name, instance] of [
      ["a", a],
      ["b", b],
    ] as const) {
      expect(
        (await me(instance, session)).status,
        `once ${sessionKey(session.sid)} is gone from Redis, instance ${name} must answer 401: Redis is the only ` +
          "source of truth, so do not keep sessions in a local cache as well",
      ).toBe(401);
    }
  });

  it("POST /logout on one instance ends the session on all of them", async () => {
    const session = await login(a, newUserId("logout"));
    expect((await addItem(a, session, "plum", 1)).status, "POST /cart/items must answer 200").toBe(200);
    const reply = await call(b, "POST", "/logout", { cookie: session.cookie });
    expect(reply.status, "POST /logout must answer 204").toBe(204);
    const cleared = reply.setCookies.find((cookie) => cookie.startsWith("sid=")) ?? "";
    expect(
      cleared,
      "POST /logout must clear the cookie: Set-Cookie: sid=; Path=/; Max-Age=0 (or an Expires in the past)",
    ).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/i);
    expect(
      await redis().exists(sessionKey(session.sid)),
      `POST /logout must delete ${sessionKey(session.sid)}: clearing the cookie only makes this browser forget ` +
        "it, and a copy of the cookie (a stolen one, another tab) would stay logged in",
    ).toBe(0);
    expect(
      (await me(a, session)).status,
      "the old cookie must be refused on the other instance after logout",
    ).toBe(401);
    const again = await login(a, session.userId);
    expect(
      await cart(b, again),
      "logging out ends the session, not the cart: the cart belongs to the user and is still there at the next login",
    ).toMatchObject({ status: 200, body: { items: { plum: 1 } } });
  });
});

task(3, "Keep carts in Redis", () => {
  it("a cart built through both instances is one cart: the hash cart:<userId>, with a sliding TTL, kept across logins", async () => {
    const session = await login(a, newUserId("shopper"));
    expect(await addItem(a, session, "apple", 2), "POST /cart/items answers 200 with the cart").toMatchObject(
      {
        status: 200,
        body: { items: { apple: 2 } },
      },
    );
    await addItem(b, session, "pear", 1);
    await addItem(b, session, "apple", 3);
    expect(
      await cart(a, session),
      "GET /cart on instance a must show what was added on both instances",
    ).toMatchObject({ status: 200, body: { items: { apple: 5, pear: 1 } } });
    expect(
      await storedCart(session.userId),
      `the cart must be the Redis hash ${cartKey(session.userId)}: field = sku, value = quantity`,
    ).toEqual({ apple: "5", pear: "1" });
    const pttl = await redis().pttl(cartKey(session.userId));
    expect(
      pttl,
      `${cartKey(session.userId)} has PTTL ${pttl}: an abandoned cart must expire CART_TTL_MS (${CART_TTL_MS} ms ` +
        "here) after its last cart request",
    ).toBeGreaterThan(CART_TTL_MS - 5_000);
    expect(pttl, "the cart TTL is CART_TTL_MS milliseconds").toBeLessThanOrEqual(CART_TTL_MS);
    await redis().pexpire(cartKey(session.userId), 5_000);
    await cart(b, session);
    expect(
      await redis().pttl(cartKey(session.userId)),
      "GET /cart must reset the cart's TTL to CART_TTL_MS: a cart the user is looking at is not abandoned",
    ).toBeGreaterThan(CART_TTL_MS - 5_000);

    expect(
      await call(b, "DELETE", "/cart/items/pear", { cookie: session.cookie }),
      "DELETE /cart/items/pear answers 200 with the cart without pears",
    ).toMatchObject({ status: 200, body: { items: { apple: 5 } } });
    expect(await storedCart(session.userId), "the deleted sku must be gone from the hash").toEqual({
      apple: "5",
    });

    const again = await login(b, session.userId);
    expect(
      await cart(a, again),
      "the cart belongs to the user, not to the session: after logging in again the cart is still there",
    ).toMatchObject({ status: 200, body: { items: { apple: 5 } } });
  });

  it("every cart request sets the cart's TTL to CART_TTL_MS, from the first item on", async () => {
    const session = await login(b, newUserId("ttl"));
    const cartTtl = async (after: string) => {
      const pttl = await redis().pttl(cartKey(session.userId));
      expect(
        pttl,
        `after ${after}, ${cartKey(session.userId)} has PTTL ${pttl} (-1: no TTL at all): each cart request must ` +
          `set the cart's TTL to CART_TTL_MS (${CART_TTL_MS} ms here), after the change, so that a new cart ` +
          "gets one too (PEXPIRE on a key that does not exist yet does nothing), and never only when it has none",
      ).toBeGreaterThan(CART_TTL_MS - 5_000);
      expect(pttl, `after ${after}: the cart TTL is CART_TTL_MS, not another setting`).toBeLessThanOrEqual(
        CART_TTL_MS,
      );
      // As if the cart had been left alone for most of its TTL, before the next request.
      await redis().pexpire(cartKey(session.userId), 5_000);
    };
    expect((await addItem(a, session, "fig", 1)).status, "POST /cart/items must answer 200").toBe(200);
    await cartTtl("the first POST /cart/items of a new cart");
    expect((await addItem(b, session, "kiwi", 2)).status, "POST /cart/items must answer 200").toBe(200);
    await cartTtl("a POST /cart/items on a cart that already has a TTL");
    expect((await cart(a, session)).status, "GET /cart must answer 200").toBe(200);
    await cartTtl("GET /cart");
    expect(
      (await call(b, "DELETE", "/cart/items/fig", { cookie: session.cookie })).status,
      "DELETE /cart/items/fig must answer 200",
    ).toBe(200);
    await cartTtl("DELETE /cart/items/fig");
  });

  it("CART_TTL_MS defaults to 7 days", async () => {
    const session = await login(learner(), newUserId("default-cart"));
    expect(
      (await addItem(learner(), session, "plum", 1)).status,
      "POST /cart/items on the runner's copy must answer 200",
    ).toBe(200);
    const pttl = await redis().pttl(cartKey(session.userId));
    expect(
      pttl,
      `the runner's copy runs without CART_TTL_MS, so ${cartKey(session.userId)} must get the default TTL of ` +
        `7 days (${DEFAULT_CART_TTL_MS} ms), not ${pttl} (-1: no TTL at all)`,
    ).toBeGreaterThan(DEFAULT_CART_TTL_MS - 60_000);
    expect(pttl, "the default cart TTL is 7 days").toBeLessThanOrEqual(DEFAULT_CART_TTL_MS);
  });

  it("cart requests need a live session and a valid sku and quantity", async () => {
    expect((await call(a, "GET", "/cart")).status, "GET /cart without a session must answer 401").toBe(401);
    expect(
      (await call(b, "POST", "/cart/items", { body: { sku: "apple", quantity: 1 } })).status,
      "POST /cart/items without a session must answer 401",
    ).toBe(401);
    const session = await login(a, newUserId("picky"));
    const bad: [unknown, unknown][] = [
      ["apple", 0],
      ["apple", 100],
      ["apple", 1.5],
      ["apple", "2"],
      [42, 1],
      [["apple"], 1],
      ["", 1],
      ["two words", 1],
      ["x".repeat(41), 1],
    ];
    for (const [sku, quantity] of bad) {
      expect(
        (await addItem(b, session, sku, quantity)).status,
        `POST /cart/items {"sku": ${JSON.stringify(sku)}, "quantity": ${JSON.stringify(quantity)}} must answer ` +
          "400: " +
          (typeof sku === "string"
            ? "the sku is 1 to 40 letters, digits or dashes and the quantity an integer from 1 to 99"
            : "the sku must be a JSON string; a pattern test turns other values into strings first " +
              '(42 becomes "42", ["apple"] becomes "apple"), so check the type before the pattern'),
      ).toBe(400);
    }
    expect(
      (await call(b, "POST", "/cart/items", { cookie: session.cookie, rawBody: '{"sku": "apple"' })).status,
      "POST /cart/items with a body that is not JSON must answer 400",
    ).toBe(400);
    expect(await redis().exists(cartKey(session.userId)), "rejected requests must not create a cart").toBe(0);
    const longest = `Z-${"9".repeat(38)}`;
    const edge = await addItem(a, session, longest, 99);
    expect(
      edge,
      `POST /cart/items {"sku": "${longest}", "quantity": 99} must answer 200: a sku of 40 letters, digits ` +
        "and dashes and a quantity of 99 are the largest allowed (from 1 to 99 includes 99)",
    ).toMatchObject({ status: 200, body: { items: { [longest]: 99 } } });
  });
});

task(4, "Update carts atomically", () => {
  it("40 concurrent adds through both instances while Redis holds writes: no item is lost", async () => {
    const session = await login(a, newUserId("rush"));
    // Open the connections the burst will use, so that it arrives as one.
    await Promise.all(Array.from({ length: 10 }, (_, i) => me(i % 2 === 0 ? a : b, session)));
    await redis().call("CLIENT", "PAUSE", String(WRITE_PAUSE_MS), "WRITE");
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        addItem(i % 2 === 0 ? a : b, session, i < 30 ? "apple" : `sku-${i}`, 1),
      ),
    );
    const failed = replies.filter((reply) => reply.status !== 200).length;
    expect(failed, "every concurrent POST /cart/items must answer 200").toBe(0);
    const stored = await storedCart(session.userId);
    expect(
      stored.apple,
      `30 requests each added 1 apple, through two instances at the same moment, and the cart holds ` +
        `${stored.apple}. The grader held Redis writes for ${WRITE_PAUSE_MS} ms as the requests arrived: code that ` +
        "reads the cart, adds in JavaScript and writes it back lets concurrent requests overwrite each other. " +
        "Let Redis do the addition (HINCRBY), or use a Lua script or WATCH/MULTI on a connection of its own",
    ).toBe("30");
    const others = Object.keys(stored).filter((sku) => sku !== "apple").length;
    expect(others, "the 10 other skus added concurrently must all be in the cart").toBe(10);
  });
});

task(5, "Restart an instance without losing anything", () => {
  it("after instance a crashes and is replaced, the user is still logged in and the cart is intact", async () => {
    const session = await login(a, newUserId("survivor"));
    await addItem(a, session, "plum", 4);
    await a.kill();
    const replacement = await startLearner({ INSTANCE: "a2", ...instanceEnv });
    expect(
      await me(replacement, session),
      "the instance that replaced the crashed one must accept the session cookie: nothing lived in the dead process",
    ).toMatchObject({ status: 200, body: { userId: session.userId } });
    expect(await cart(replacement, session), "the cart must have survived the crash").toMatchObject({
      status: 200,
      body: { items: { plum: 4 } },
    });
    expect(await cart(b, session), "and instance b sees the same cart").toMatchObject({
      status: 200,
      body: { items: { plum: 4 } },
    });
  });
});
