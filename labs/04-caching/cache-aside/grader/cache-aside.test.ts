import { afterAll, beforeAll, expect, it } from "vitest";
import { lockWaiters, postgres, redis, task, waitFor } from "@backend-labs/graders";
import {
  cacheEntry,
  catalog,
  dropCommitTriggers,
  holdCommits,
  insertProduct,
  installCommitTriggers,
  learnerConnections,
  learnerRedisConnections,
  MISSING_TTL_SECONDS,
  observeReads,
  parseCached,
  type Product,
  PRODUCT_TTL_SECONDS,
  productKey,
  rejection,
  setsWithExpiry,
  storedProduct,
  uid,
  watchRedis,
  writesOf,
} from "./helpers.ts";

const lockNote =
  "(the grader held a lock on the products table and saw your query queue for it: cache hits must not query Postgres)";

task(1, "Read through the cache", () => {
  it("a miss reads Postgres and caches the product as JSON under product:<id> for 300 s", async () => {
    const product = await insertProduct(uid("lamp"), "Desk lamp", 2_500);
    expect(
      await catalog.getProduct(product.id),
      "getProduct must return { id, name, priceCents } of the row in Postgres",
    ).toEqual(product);

    const { raw, ttl } = await cacheEntry(product.id);
    expect(raw, `after a miss, getProduct must SET the key ${productKey(product.id)} in Redis`).toBeDefined();
    expect(
      parseCached(raw),
      `${productKey(product.id)} must hold the product as JSON with exactly the fields id, name and priceCents`,
    ).toEqual(product);
    expect(
      ttl,
      `${productKey(product.id)} has TTL ${ttl}: -1 means it never expires, so a lost invalidation would serve a ` +
        `stale price forever. Set it with EX ${PRODUCT_TTL_SECONDS} in the same SET`,
    ).toBeGreaterThan(PRODUCT_TTL_SECONDS - 10);
    expect(ttl, `the TTL must be ${PRODUCT_TTL_SECONDS} s, not more`).toBeLessThanOrEqual(
      PRODUCT_TTL_SECONDS,
    );
  });

  it("a hit is served from Redis without a query to Postgres", async () => {
    const product = await insertProduct(uid("chair"), "Office chair", 14_900);
    await catalog.getProduct(product.id);
    // The cache and the table now disagree on purpose: what getProduct returns shows where it read.
    const cachedCopy = { ...product, name: "Office chair (cached copy)" };
    await redis().set(productKey(product.id), JSON.stringify(cachedCopy), "KEEPTTL");

    const { outcomes, reads } = await observeReads(() => [
      catalog.getProduct(product.id),
      catalog.getProduct(product.id),
    ]);
    expect(reads, `${productKey(product.id)} was in Redis, yet getProduct queried Postgres ${lockNote}`).toBe(
      0,
    );
    for (const outcome of outcomes) {
      expect(
        outcome.status === "fulfilled" ? outcome.value : String(outcome.reason),
        `a hit must return the product exactly as Redis holds it (the grader changed the cached name to "${cachedCopy.name}")`,
      ).toEqual(cachedCopy);
    }
  });

  it("a miss writes the entry and its TTL in one SET (EX), never SET then EXPIRE", async () => {
    const product = await insertProduct(uid("clock"), "Wall clock", 4_200);
    const ghost = uid("ghost");
    const watch = await watchRedis();
    try {
      expect(await catalog.getProduct(product.id), "getProduct returns the row").toEqual(product);
      expect(await catalog.getProduct(ghost), "getProduct of an unknown id returns null").toBeNull();
      for (const key of [productKey(product.id), productKey(ghost)]) {
        const writes = writesOf(await watch.commandsOn(key));
        expect(
          writes.map((args) => args.join(" ")),
          `after a miss, getProduct must write ${key} with SET ... EX <seconds> in ONE command. A SET ` +
            "without EX followed by EXPIRE leaves a moment when the key has no TTL: a crash or a lost " +
            "connection in between caches it forever",
        ).toEqual(writes.filter(setsWithExpiry).map((args) => args.join(" ")));
        expect(writes.length, `getProduct never wrote ${key} to Redis after a miss`).toBeGreaterThan(0);
      }
    } finally {
      watch.stop();
    }
  });

  it("20 calls in a row reuse one pool and one Redis connection", async () => {
    const products = await Promise.all(
      Array.from({ length: 20 }, (_, index) => insertProduct(uid(`reuse-${index}`), `Item ${index}`, 100)),
    );
    for (const product of products) {
      expect(await catalog.getProduct(product.id), "each miss returns its product").toEqual(product);
    }
    const postgresNow = await learnerConnections();
    expect(
      postgresNow,
      `after 20 misses one after the other, your process holds ${postgresNow} Postgres connections: a new ` +
        "pg.Pool (or client) per call keeps its connection open after the call. Create the pool once per " +
        "process and query through it; its default size is 10",
    ).toBeLessThanOrEqual(10);
    const redisNow = await learnerRedisConnections();
    expect(
      redisNow,
      `after 20 misses your process holds ${redisNow} Redis connections: create the ioredis client once per ` +
        "process and reuse it; a new Redis() per call leaves every one of them open",
    ).toBeLessThanOrEqual(1);
  });

  it("a hit does not extend the TTL, so even a popular product is reloaded when it expires", async () => {
    const product = await insertProduct(uid("mug"), "Mug", 900);
    await catalog.getProduct(product.id);
    await redis().expire(productKey(product.id), 100);
    await catalog.getProduct(product.id);
    await catalog.getProduct(product.id);
    const { ttl } = await cacheEntry(product.id);
    expect(
      ttl,
      `the grader set the TTL of ${productKey(product.id)} to 100 s, then two hits moved it to ${ttl} s: do not ` +
        "SET or EXPIRE on a hit. A TTL refreshed on every read never runs out for a product that is read often, " +
        "and the TTL is what bounds how long a stale copy can live",
    ).toBeLessThanOrEqual(100);
    expect(ttl, "a hit must not remove the TTL either").toBeGreaterThan(0);

    const ghost = uid("ghost");
    await catalog.getProduct(ghost);
    await redis().expire(productKey(ghost), 5);
    await catalog.getProduct(ghost);
    await catalog.getProduct(ghost);
    const missing = await cacheEntry(ghost);
    expect(
      missing.ttl,
      `the grader set the TTL of the "not found" entry ${productKey(ghost)} to 5 s, then two hits moved it to ` +
        `${missing.ttl} s: a cached null is a hit too, and refreshing it would hide a product created behind ` +
        "the cache's back for as long as someone keeps asking for it",
    ).toBeLessThanOrEqual(5);
    expect(missing.ttl, "a hit must not remove the TTL of a cached null either").toBeGreaterThan(0);
  });
});

task(2, "Cache missing products too", () => {
  beforeAll(installCommitTriggers);
  afterAll(dropCommitTriggers);

  it("an unknown id returns null, is cached as null for at most 10 s, and the next lookup skips Postgres", async () => {
    const id = uid("ghost");
    expect(await catalog.getProduct(id), "getProduct of an id with no row must return null").toBeNull();

    const { raw, ttl } = await cacheEntry(id);
    expect(
      raw,
      `${productKey(id)} must hold the JSON text null after a lookup found nothing: otherwise every request ` +
        "for an id that does not exist (a bot, a deleted product) goes to Postgres",
    ).toBe("null");
    expect(
      ttl,
      `the "not found" entry ${productKey(id)} has TTL ${ttl}: it must expire (-1 means never) within ` +
        `${MISSING_TTL_SECONDS} s, so a product added behind the cache's back appears soon`,
    ).toBeGreaterThan(0);
    expect(
      ttl,
      `the "not found" entry must live at most ${MISSING_TTL_SECONDS} s, shorter than a product's ${PRODUCT_TTL_SECONDS} s`,
    ).toBeLessThanOrEqual(MISSING_TTL_SECONDS);
    expect(
      ttl,
      `the "not found" entry is set with EX ${MISSING_TTL_SECONDS}, not a shorter TTL`,
    ).toBeGreaterThan(MISSING_TTL_SECONDS - 5);

    const { outcomes, reads } = await observeReads(() => [catalog.getProduct(id), catalog.getProduct(id)]);
    expect(
      reads,
      `the id ${id} is cached as not found, yet getProduct queried Postgres again ${lockNote}`,
    ).toBe(0);
    expect(
      outcomes.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : String(outcome.reason))),
      "a cached null is a hit like any other: getProduct returns null",
    ).toEqual([null, null]);
  });

  it("createProduct stores the row and makes an id that was cached as missing visible at once", async () => {
    const id = uid("new");
    expect(await catalog.getProduct(id), "the product does not exist yet").toBeNull();

    const product = { id, name: "Standing desk", priceCents: 39_900 };
    expect(await catalog.createProduct(product), "createProduct returns the product it stored").toEqual(
      product,
    );
    expect(await storedProduct(id), "createProduct must INSERT the row into products").toEqual(product);
    expect(
      await catalog.getProduct(id),
      `right after createProduct, getProduct still answered from the "not found" entry ${productKey(id)}: ` +
        "after the INSERT, delete the key",
    ).toEqual(product);

    const duplicate = await rejection(catalog.createProduct({ ...product, name: "Impostor" }));
    expect(
      duplicate?.message ?? "(no error: the call succeeded)",
      "creating an id that exists must throw an error containing 'already exists'",
    ).toMatch(/already exists/i);
    expect(await catalog.getProduct(id), "a refused create changes nothing").toEqual(product);

    const invalid = await rejection(
      catalog.createProduct({ id: uid("negative"), name: "Refund", priceCents: -1 }),
    );
    expect(
      invalid?.message ?? "(no error: the call succeeded)",
      "a create that fails for another reason (here a negative price breaks the table's CHECK) must reject " +
        "with the database's error: only a duplicate id (unique violation, code 23505) is 'already exists'",
    ).toMatch(/violates check constraint/);
  });

  it('createProduct deletes the "not found" entry only after its INSERT has committed', async () => {
    const id = uid("held");
    expect(await catalog.getProduct(id), "the product does not exist yet").toBeNull();
    const product = { id, name: "Reading lamp", priceCents: 5_500 };

    const hold = await holdCommits(id);
    let create: Promise<Product> | undefined;
    try {
      create = catalog.createProduct(product);
      create.catch(() => undefined);
      expect(
        await hold.untilHeld(),
        "createProduct never reached the COMMIT of an INSERT of the row within 3 s",
      ).toBe(true);
      // The grader holds that COMMIT open: the row is inserted but nobody else can see it yet.
      const during = await rejection(catalog.getProduct(id));
      expect(during?.message, "a lookup while the INSERT has not committed must not fail").toBeUndefined();
    } finally {
      await hold.release();
    }
    expect(await create, "once the COMMIT goes through, createProduct returns the product").toEqual(product);
    expect(
      await catalog.getProduct(id),
      "createProduct has returned, yet getProduct answered null: the key was deleted before the INSERT " +
        'committed, so a lookup in between found no row and cached "not found" again. Delete ' +
        `${productKey(id)} after the INSERT has committed`,
    ).toEqual(product);
  });
});

task(3, "Invalidate on write, after the commit", () => {
  beforeAll(installCommitTriggers);
  afterAll(dropCommitTriggers);

  it("updateProduct commits the change and deletes product:<id>; the next read caches the new row", async () => {
    const product = await insertProduct(uid("kettle"), "Kettle", 3_500);
    await catalog.getProduct(product.id);

    const updated = { ...product, priceCents: 2_990 };
    expect(
      await catalog.updateProduct(product.id, { priceCents: 2_990 }),
      "updateProduct returns the updated product; fields not in `changes` keep their values",
    ).toEqual(updated);
    expect(await storedProduct(product.id), "the change must be stored in Postgres").toEqual(updated);
    const { raw } = await cacheEntry(product.id);
    expect(
      raw,
      `after updateProduct returns, ${productKey(product.id)} must be deleted, not overwritten: two writers ` +
        "that each SET their own row can land in Redis in the opposite order of their commits and leave the " +
        "older row cached. DEL is the same whatever the order",
    ).toBeUndefined();

    expect(await catalog.getProduct(product.id), "the next read returns the new row").toEqual(updated);
    expect(parseCached((await cacheEntry(product.id)).raw), "and caches it again").toEqual(updated);

    const renamed = { ...updated, name: "Electric kettle" };
    expect(
      await catalog.updateProduct(product.id, { name: "Electric kettle" }),
      "updating only the name keeps the price",
    ).toEqual(renamed);
    expect(await catalog.getProduct(product.id), "the renamed product is read back").toEqual(renamed);

    const free = { ...renamed, priceCents: 0 };
    expect(
      await catalog.updateProduct(product.id, { priceCents: 0 }),
      "a price of 0 is a change like any other (the table allows it): test whether a field is in `changes` " +
        "with `!== undefined` or `??`, not by truthiness",
    ).toEqual(free);
    expect(await storedProduct(product.id), "the price 0 must be stored in Postgres").toEqual(free);

    const missing = await rejection(catalog.updateProduct(uid("nope"), { priceCents: 1 }));
    expect(
      missing?.message ?? "(no error: the call succeeded)",
      "updating an id with no row must throw an error containing 'product not found'",
    ).toMatch(/product not found/i);
  });

  it("a read during an uncommitted write gets the old row; after updateProduct returns nobody gets it again", async () => {
    const product = await insertProduct(uid("held"), "Bookshelf", 8_900);
    await catalog.getProduct(product.id);
    const updated = { ...product, name: "Bookshelf, oak" };

    const hold = await holdCommits(product.id);
    let write: Promise<Product> | undefined;
    try {
      write = catalog.updateProduct(product.id, { name: updated.name });
      write.catch(() => undefined);
      expect(
        await hold.untilHeld(),
        "updateProduct never reached the COMMIT of an UPDATE of the row within 3 s",
      ).toBe(true);
      // The grader holds that COMMIT open: the new name is written but invisible to everyone else.
      const during = [await catalog.getProduct(product.id), await catalog.getProduct(product.id)];
      expect(
        during,
        "while the UPDATE has not committed, reads must return the committed row: you put a value in the " +
          "cache that Postgres has not committed (and might never commit). Touch the cache only after COMMIT",
      ).toEqual([product, product]);
    } finally {
      await hold.release();
    }
    expect(await write, "once the COMMIT goes through, updateProduct returns the new row").toEqual(updated);

    const after = await catalog.getProduct(product.id);
    expect(
      after,
      "updateProduct has returned, yet getProduct served the OLD row. Most likely the key was deleted before " +
        "the COMMIT, so a read in between missed, read the still-committed old row and cached it again. " +
        "Delete the key after the transaction has committed",
    ).toEqual(updated);
    const cached = parseCached((await cacheEntry(product.id)).raw);
    expect(cached, `${productKey(product.id)} must be absent or hold the new row after the write`).toEqual(
      cached === undefined ? undefined : updated,
    );
  });

  it("two concurrent updates of different fields both survive", async () => {
    const product = await insertProduct(uid("held"), "Armchair", 25_000);
    const merged = { ...product, name: "Armchair, velvet", priceCents: 19_900 };

    const hold = await holdCommits(product.id);
    let first: Promise<Product> | undefined;
    let second: Promise<Product> | undefined;
    try {
      first = catalog.updateProduct(product.id, { name: merged.name });
      first.catch(() => undefined);
      expect(
        await hold.untilHeld(),
        "updateProduct never reached the COMMIT of an UPDATE of the row within 3 s",
      ).toBe(true);
      // The rename is written but not committed. A price change now must wait for it, then apply on top.
      second = catalog.updateProduct(product.id, { priceCents: merged.priceCents });
      second.catch(() => undefined);
      await waitFor(async () => (await lockWaiters()) >= 2, 2_000);
    } finally {
      await hold.release();
    }
    // Both calls must have finished before the row is checked: the price change commits after the rename.
    const [renamed, repriced] = (await Promise.allSettled([first, second])).map((outcome) =>
      outcome.status === "fulfilled" ? outcome.value : String(outcome.reason),
    );
    expect(renamed, "the rename succeeds and returns the renamed product").toEqual({
      ...product,
      name: merged.name,
    });
    expect(repriced, "the price change succeeds too, after the rename committed").toMatchObject({
      priceCents: merged.priceCents,
    });
    expect(
      await storedProduct(product.id),
      "a rename and a price change ran at the same time and one of them was lost: the fields not in " +
        "`changes` were written back from a copy read before the other update committed. Let the UPDATE keep " +
        "them itself (SET name = coalesce($2, name), ...) or lock the row (SELECT ... FOR UPDATE) before reading it",
    ).toEqual(merged);
    expect(repriced, "the price change returns the row with both changes").toEqual(merged);
    expect(await catalog.getProduct(product.id), "and reads return both changes").toEqual(merged);
  });

  it("a write whose COMMIT fails leaves reads returning the committed row", async () => {
    const product = await insertProduct(uid("failcommit"), "Floor lamp", 6_400);
    await catalog.getProduct(product.id);

    const error = await rejection(catalog.updateProduct(product.id, { name: "Never committed" }));
    expect(
      error?.message ?? "(no error: the call succeeded)",
      "the grader made this product's COMMIT fail (as a deferred constraint or a serialization failure " +
        "would): updateProduct must reject with the database's error",
    ).toMatch(/injected failure/);
    expect(await storedProduct(product.id), "the failed commit changed nothing in Postgres").toEqual(product);
    expect(
      await catalog.getProduct(product.id),
      "the COMMIT failed, yet getProduct returns the change: a value cached before COMMIT outlives a " +
        "rollback. Touch the cache only once the write has committed",
    ).toEqual(product);

    // More failed commits than the pool has connections (10 by default): each must give its connection back.
    for (let attempt = 0; attempt < 10; attempt++) {
      const again = await rejection(
        catalog.updateProduct(product.id, { name: `Never committed ${attempt}` }),
      );
      expect(again?.message ?? "(no error: the call succeeded)", "every failed COMMIT rejects").toMatch(
        /injected failure/,
      );
    }
    const other = await insertProduct(uid("afterfail"), "Side table", 7_700);
    const read = await catalog.getProduct(other.id).catch((error: unknown) => String(error));
    expect(
      read,
      "after 11 writes whose COMMIT failed, a read that needs Postgres no longer returned: a connection " +
        "taken with pool.connect() must be released in finally, or every failure leaks one until the pool is empty",
    ).toEqual(other);
  });
});

task(4, "One database read per key for concurrent misses", () => {
  it("concurrent misses on different ids are read in parallel", async () => {
    const products = await Promise.all(
      ["a", "b", "c"].map((label) => insertProduct(uid(`parallel-${label}`), `Item ${label}`, 100)),
    );
    const { outcomes, reads } = await observeReads(() =>
      products.map((product) => catalog.getProduct(product.id)),
    );
    expect(
      reads,
      `3 concurrent misses on 3 different ids made ${reads} concurrent reads: de-duplicate loads per id, not ` +
        "with one lock for the whole catalog, or one slow product holds up all the others",
    ).toBe(3);
    expect(
      outcomes.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : String(outcome.reason))),
      "each call returns its own product",
    ).toEqual(products);
  });

  it("8 concurrent misses on one id make one database read, and all 8 get the product", async () => {
    const product = await insertProduct(uid("hot"), "Limited edition print", 12_000);
    const { outcomes, reads } = await observeReads(() =>
      Array.from({ length: 8 }, () => catalog.getProduct(product.id)),
    );
    expect(
      reads,
      `8 concurrent misses on ${product.id} queried Postgres ${reads} times at once: when a popular key ` +
        "expires, every request in flight stampedes the database. Keep the in-flight load per id in memory " +
        "and let later callers await the same promise",
    ).toBe(1);
    for (const outcome of outcomes) {
      expect(
        outcome.status === "fulfilled" ? outcome.value : String(outcome.reason),
        "every caller that shared the load gets the product",
      ).toEqual(product);
    }
    expect(parseCached((await cacheEntry(product.id)).raw), "the loaded product is cached").toEqual(product);
  });

  it("a failed read reaches every waiting caller, caches nothing, and the next call reads again", async () => {
    const product = await insertProduct(uid("flaky"), "Rug", 19_900);
    const setSelect = (grant: boolean, on: { query: (sql: string) => Promise<unknown> } = postgres()) =>
      on.query(`DO $$ BEGIN
        EXECUTE format('${grant ? "GRANT SELECT ON products TO %I" : "REVOKE SELECT ON products FROM %I"}',
          (SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'products'));
      END $$`);
    // The grader holds the table while the 4 calls line up behind one read, then revokes SELECT: the read
    // that was waiting fails when it gets the table, with all 4 callers waiting on it.
    const holder = await postgres().connect();
    let outcomes: PromiseSettledResult<Product | null>[];
    try {
      await holder.query("BEGIN");
      await holder.query("LOCK TABLE products IN ACCESS EXCLUSIVE MODE");
      const calls = Promise.allSettled(Array.from({ length: 4 }, () => catalog.getProduct(product.id)));
      await waitFor(async () => (await lockWaiters()) >= 1, 5_000);
      // The other calls reach the learner's process over HTTP a moment after the first.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await setSelect(false, holder);
      await holder.query("COMMIT");
      outcomes = await calls;
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      holder.release();
      await setSelect(true);
    }
    expect(
      outcomes.map((outcome) => outcome.status),
      "the grader revoked SELECT on products, so the read fails: every caller must get the error (rethrow " +
        "it), never a product or null",
    ).toEqual(["rejected", "rejected", "rejected", "rejected"]);
    const { raw } = await cacheEntry(product.id);
    expect(
      raw,
      `a failed read is not "not found": ${productKey(product.id)} must not be cached after a database error`,
    ).toBeUndefined();

    // More failed reads than the pool has connections (10 by default), one after the other.
    await setSelect(false);
    let later: PromiseSettledResult<Product | null>[] = [];
    try {
      for (let attempt = 0; attempt < 10; attempt++) {
        later = [...later, ...(await Promise.allSettled([catalog.getProduct(product.id)]))];
      }
    } finally {
      await setSelect(true);
    }
    expect(
      later.map((outcome) => outcome.status),
      "each later call whose read fails must reject too: the next call reads Postgres again",
    ).toEqual(Array.from({ length: 10 }, () => "rejected"));

    expect(
      await catalog.getProduct(product.id).catch((error: unknown) => String(error)),
      "SELECT is granted again: the next call must read Postgres afresh. Remove the in-flight entry when " +
        "the load fails too (finally), or every later caller gets the old failure; and release a client " +
        "taken with pool.connect() in finally, or after 11 failed reads the pool (10 connections) is empty",
    ).toEqual(product);
  });
});
