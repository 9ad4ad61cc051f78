import { expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import {
  at,
  deleteProduct,
  directives,
  etagSyntax,
  flipWeakness,
  get,
  insertAccount,
  insertProduct,
  json,
  renameAccount,
  request,
  sharedCacheMayStore,
  uid,
  updateProduct,
  varyNames,
} from "./helpers.ts";

const plain = { "accept-encoding": "identity" };
const gzip = { "accept-encoding": "gzip" };

task(1, "Describe each product for caches", () => {
  it("GET /products/:id: the product with Cache-Control public, max-age=60, an ETag and Last-Modified", async () => {
    const updatedAt = at(250);
    const product = await insertProduct(uid("lamp"), "Desk lamp", 2_500, updatedAt);
    const reply = await get(`/products/${product.id}`);
    expect(reply.status, `GET /products/${product.id} must answer 200`).toBe(200);
    expect(json(reply), "the body is the product as JSON: { id, name, priceCents, updatedAt }").toEqual(
      product,
    );

    const cc = directives(reply.headers.get("cache-control"));
    expect(
      cc.get("public"),
      `a product is the same for everyone, so CDNs and proxies may keep it: Cache-Control must contain public ` +
        `(got "${reply.headers.get("cache-control")}")`,
    ).toBe(true);
    expect(cc.get("max-age"), "Cache-Control must say max-age=60 for a product").toBe("60");

    const etag = reply.headers.get("etag");
    expect(
      etag,
      'the response needs an ETag: a quoted string such as "v3" (or W/"v3"), derived from the row',
    ).toMatch(etagSyntax);
    expect(
      reply.headers.get("last-modified"),
      "Last-Modified must be the row's updated_at as an HTTP date (Date.prototype.toUTCString())",
    ).toBe(updatedAt.toUTCString());

    const again = await get(`/products/${product.id}`);
    expect(
      again.headers.get("etag"),
      "the ETag must stay the same while the row does not change, or no client can ever revalidate",
    ).toBe(etag);
  });

  it("an unknown product is 404 with Cache-Control: no-store", async () => {
    const reply = await get(`/products/${uid("ghost")}`);
    expect(reply.status, "a product that does not exist is 404").toBe(404);
    expect(
      directives(reply.headers.get("cache-control")).has("no-store"),
      "caches may keep a 404 (it is cacheable by default) and hide a product created a minute later: send " +
        `Cache-Control: no-store on errors (got "${reply.headers.get("cache-control")}")`,
    ).toBe(true);
  });

  it("the ETag changes with every change to the row, even two changes within one second", async () => {
    const product = await insertProduct(uid("chair"), "Office chair", 14_900, at(100));
    const etags = [(await get(`/products/${product.id}`)).headers.get("etag")];
    await updateProduct(product.id, { name: "Office chair, black" }, at(400));
    etags.push((await get(`/products/${product.id}`)).headers.get("etag"));
    await updateProduct(product.id, { priceCents: 12_900 }, at(700));
    etags.push((await get(`/products/${product.id}`)).headers.get("etag"));

    expect(
      new Set(etags).size,
      `the row changed twice within one second (updated_at ${at(100).toISOString()}, then .400, then .700) and ` +
        `the ETags were ${etags.join(", ")}: an ETag built from a whole-second timestamp stays the same, and ` +
        "every client holding it is told 304 Not Modified for a product that changed. Derive it from the " +
        "version column, which changes with every UPDATE",
    ).toBe(3);

    // The back office may correct a price without touching updated_at: same timestamp, new row.
    await updateProduct(product.id, { priceCents: 11_900 }, at(700));
    const sameTimestamp = (await get(`/products/${product.id}`)).headers.get("etag");
    expect(
      sameTimestamp,
      `the price changed again and updated_at stayed ${at(700).toISOString()} to the millisecond, yet the ETag ` +
        `stayed ${etags[2]}: a timestamp (even with milliseconds) does not change with every UPDATE, so clients ` +
        "holding the old price are told it is current. Derive the ETag from the version column",
    ).not.toBe(etags[2]);
  });

  it("every error (unknown route, 405, malformed id, a failing query) carries Cache-Control: no-store", async () => {
    const cases = [
      { path: `/nowhere/${uid("route")}`, init: {}, status: 404, what: "an unknown route" },
      {
        path: "/products",
        init: { method: "POST" },
        status: 405,
        what: "POST /products (only GET is served)",
      },
      {
        path: "/products/%E0%A4%A",
        init: {},
        status: 400,
        what: "a product id that is not valid percent-encoding",
      },
      {
        path: "/products/%00",
        init: {},
        status: 500,
        what: "a product id with a NUL byte, which Postgres refuses (the query fails)",
      },
    ];
    for (const { path, init, status, what } of cases) {
      const reply = await request(path, init);
      expect(reply.status, `${what} is an error (the starter answers ${status})`).toBeGreaterThanOrEqual(400);
      expect(
        directives(reply.headers.get("cache-control")).has("no-store"),
        `${what} answered ${reply.status} with Cache-Control "${reply.headers.get("cache-control")}": every error, not ` +
          "only a 404, must say Cache-Control: no-store, or a CDN may keep the error and serve it after the cause " +
          "is gone. Set it where all errors are sent",
      ).toBe(true);
    }
  });
});

task(2, "Answer conditional requests with 304", () => {
  it("If-None-Match with the current ETag: 304 with no body, the same ETag, Cache-Control and Last-Modified", async () => {
    const product = await insertProduct(uid("kettle"), "Kettle", 3_500, at(0));
    const first = await get(`/products/${product.id}`);
    const etag = first.headers.get("etag") ?? "(no ETag)";

    const revalidated = await get(`/products/${product.id}`, { "if-none-match": etag });
    expect(
      revalidated.status,
      `If-None-Match: ${etag} names the current version: answer 304 Not Modified, so the client reuses its copy`,
    ).toBe(304);
    expect(revalidated.body, "a 304 has no body: the point is not to send the product again").toBe("");
    expect(
      revalidated.headers.get("etag"),
      "a 304 must repeat the ETag (and the other caching headers a 200 would send): caches refresh their copy from it",
    ).toBe(etag);
    expect(
      revalidated.headers.get("cache-control"),
      "a 304 must repeat Cache-Control, or the cache cannot renew the copy's freshness",
    ).toBe(first.headers.get("cache-control"));
    expect(revalidated.headers.get("last-modified"), "a 304 repeats Last-Modified too").toBe(
      first.headers.get("last-modified"),
    );
  });

  it("If-None-Match matches any tag of a list, *, and the ETag with W/ added or removed, whatever If-Modified-Since says; a stranger tag gets 200", async () => {
    const product = await insertProduct(uid("mug"), "Mug", 900, at(0));
    const etag = (await get(`/products/${product.id}`)).headers.get("etag") ?? '"(no ETag)"';
    const cases = [
      {
        header: `"some-other-version", ${etag}`,
        why: "a cache holding several versions sends all their tags, comma-separated",
      },
      { header: "*", why: "* matches any current representation" },
      {
        header: flipWeakness(etag),
        why: "If-None-Match uses the weak comparison, and proxies such as nginx turn strong ETags weak when they compress",
      },
    ];
    for (const { header, why } of cases) {
      const reply = await get(`/products/${product.id}`, { "if-none-match": header });
      expect(reply.status, `If-None-Match: ${header} must get 304 (${why})`).toBe(304);
    }
    const withOldDate = await get(`/products/${product.id}`, {
      "if-none-match": etag,
      "if-modified-since": new Date(at(0).getTime() - 86_400_000).toUTCString(),
    });
    expect(
      withOldDate.status,
      `If-None-Match: ${etag} matches, and If-Modified-Since names the day before the product existed: when ` +
        "If-None-Match is present it alone decides (RFC 9110, 13.2.2), so the answer is 304, not 200",
    ).toBe(304);
    const stranger = await get(`/products/${product.id}`, { "if-none-match": '"not-a-version-of-this"' });
    expect(stranger.status, "an If-None-Match that names no current tag gets the full 200").toBe(200);
    expect(json(stranger), "with the product in the body").toEqual(product);
  });

  it("after a change within the same second, the old ETag gets 200 and the new row, even with If-Modified-Since", async () => {
    const product = await insertProduct(uid("desk"), "Standing desk", 39_900, at(100));
    const first = await get(`/products/${product.id}`);
    await updateProduct(product.id, { priceCents: 34_900 }, at(600));

    const reply = await get(`/products/${product.id}`, {
      "if-none-match": first.headers.get("etag") ?? '"(no ETag)"',
      "if-modified-since": first.headers.get("last-modified") ?? at(100).toUTCString(),
    });
    expect(
      reply.status,
      "the client's ETag is out of date, but its If-Modified-Since equals Last-Modified, because HTTP dates have " +
        "whole seconds and both versions fall in the same one. When If-None-Match is present it decides, and " +
        "If-Modified-Since is ignored (RFC 9110, 13.2.2)",
    ).toBe(200);
    expect(json(reply), "the 200 carries the new price").toEqual({
      ...product,
      priceCents: 34_900,
      updatedAt: at(600).toISOString(),
    });
    expect(reply.headers.get("etag"), "and the new ETag").not.toBe(first.headers.get("etag"));
  });

  it("If-Modified-Since alone: 304 when unchanged since that date, 200 when changed after it or not a date", async () => {
    const updatedAt = at(300);
    const product = await insertProduct(uid("rug"), "Rug", 19_900, updatedAt);
    const lastModified = updatedAt.toUTCString();
    const cases = [
      { since: lastModified, status: 304, why: "the row has not changed since the client's Last-Modified" },
      {
        since: new Date(updatedAt.getTime() + 3_600_000).toUTCString(),
        status: 304,
        why: "an hour after Last-Modified the row had still not changed",
      },
      {
        since: new Date(updatedAt.getTime() - 1_000).toUTCString(),
        status: 200,
        why: "the row changed a second after this date",
      },
      { since: "yesterday", status: 200, why: "a header that is not an HTTP date is ignored" },
    ];
    for (const { since, status, why } of cases) {
      const reply = await get(`/products/${product.id}`, { "if-modified-since": since });
      expect(
        reply.status,
        `If-Modified-Since: ${since} (Last-Modified is ${lastModified}) must get ${status}: ${why}. Compare in ` +
          "whole seconds: Last-Modified drops the milliseconds of updated_at",
      ).toBe(status);
    }
  });
});

task(3, "Cache the catalogue list", () => {
  it("GET /products: every product by id, Cache-Control public, max-age=30, an ETag, no Last-Modified, and 304 for it", async () => {
    const products = [
      await insertProduct(uid("list-b"), "Bin", 1_200, at(0)),
      await insertProduct(uid("list-a"), "Ashtray", 700, at(0)),
    ];
    const reply = await get("/products", plain);
    expect(reply.status, "GET /products must answer 200").toBe(200);
    const list = json(reply) as { id: string }[];
    expect(Array.isArray(list), "the body is a JSON array of products").toBe(true);
    for (const product of products) {
      expect(list, `the list must contain every product, including ${product.id}`).toContainEqual(product);
    }
    const { rows } = await postgres().query<{ id: string }>("SELECT id FROM products ORDER BY id");
    expect(
      list.map((item) => item.id),
      "the list holds every product, in the order of ORDER BY id",
    ).toEqual(rows.map((row) => row.id));

    const cc = directives(reply.headers.get("cache-control"));
    expect(cc.get("public"), "the catalogue is the same for everyone: Cache-Control public").toBe(true);
    expect(cc.get("max-age"), "the list changes more often than a product: max-age=30").toBe("30");
    const etag = reply.headers.get("etag");
    expect(etag, "the list needs an ETag of its own").toMatch(etagSyntax);
    expect(
      reply.headers.get("last-modified"),
      "the list has no Last-Modified: removing the newest product would move it backwards, and clients " +
        "revalidating with If-Modified-Since would be told a list without that product is unchanged",
    ).toBeNull();
    const revalidated = await get("/products", { ...plain, "if-none-match": etag ?? "" });
    expect(revalidated.status, "If-None-Match with the list's ETag must get 304").toBe(304);
    expect(revalidated.body, "a 304 has no body").toBe("");
    expect(
      revalidated.headers.get("etag"),
      "the list's 304 must repeat the ETag (and the other headers a 200 carries): caches refresh their copy from it",
    ).toBe(etag);
    expect(
      revalidated.headers.get("cache-control"),
      "the list's 304 must repeat Cache-Control, or the cache cannot renew the copy's freshness",
    ).toBe(reply.headers.get("cache-control"));

    const sinceLater = new Date(Date.now() + 3_600_000).toUTCString();
    const byDate = await get("/products", { ...plain, "if-modified-since": sinceLater });
    expect(
      byDate.status,
      `If-Modified-Since: ${sinceLater} on the list must be ignored (got ${byDate.status}): the list has no ` +
        "Last-Modified to compare it with, and a date cannot see a product being removed. Only If-None-Match " +
        "gets a 304 here",
    ).toBe(200);
  });

  it("the list's ETag changes when any product changes, is added or removed", async () => {
    // One product with a high version and one with version 1: an ETag made of count and highest version
    // does not notice the second one changing.
    const busy = await insertProduct(uid("etag-busy"), "Popular item", 500, at(0));
    for (const [i, price] of [600, 700, 800].entries())
      await updateProduct(busy.id, { priceCents: price }, at(i));
    const quiet = await insertProduct(uid("etag-quiet"), "Quiet item", 500, at(0));

    const listEtag = async () => (await get("/products", plain)).headers.get("etag");
    const initial = await listEtag();
    await updateProduct(quiet.id, { name: "Quiet item, renamed" }, at(5_000));
    const afterUpdate = await listEtag();
    expect(
      afterUpdate,
      `a product in the list changed (its version went from 1 to 2) and the list's ETag stayed ${initial}: ` +
        "build it from every row's id and version (e.g. a hash of them), not from a count or the highest version",
    ).not.toBe(initial);

    const added = await insertProduct(uid("etag-added"), "New arrival", 100, at(6_000));
    const afterInsert = await listEtag();
    expect(afterInsert, "a product was added: the list's ETag must change").not.toBe(afterUpdate);
    await deleteProduct(added.id);
    const afterDelete = await listEtag();
    expect(afterDelete, "a product was removed: the list's ETag must change").not.toBe(afterInsert);

    // Replace one product by another in one step: same count, same versions, same newest updated_at.
    const replaced = await insertProduct(uid("etag-replacement"), "Replacement item", 500, at(0));
    const beforeSwap = await listEtag();
    const swapIn = await postgres().connect();
    try {
      await swapIn.query("BEGIN");
      await swapIn.query("DELETE FROM products WHERE id = $1", [replaced.id]);
      await swapIn.query(
        "INSERT INTO products (id, name, price_cents, updated_at) VALUES ($1, 'Swapped-in item', 500, $2)",
        [uid("etag-swapped"), at(0)],
      );
      await swapIn.query("COMMIT");
    } finally {
      swapIn.release();
    }
    const afterSwap = await listEtag();
    expect(
      afterSwap,
      `one product was removed and another added at the same version and updated_at, and the list's ETag ` +
        `stayed ${beforeSwap}: a count, a sum of versions or a newest date cannot see this. Build the ETag from ` +
        "every row's id and version",
    ).not.toBe(beforeSwap);

    const stale = await get("/products", { ...plain, "if-none-match": initial ?? "" });
    expect(stale.status, "a client holding the list from before the changes must get a 200").toBe(200);
  });

  it("the list's ETag tells apart two lists whose ids and versions, run together, spell the same text", async () => {
    // Ids that start with a digit sort before every other product, so these rows are next to each other.
    // Before: (1-…-p, version 1), (21-…-q, version 3). After: (1-…-p, version 12), (1-…-q, version 3).
    // Written one after the other, both read "1-…-p" "121-…-q" "3".
    const key = uid("run");
    const [first, replaced, replacement] = [`1-${key}-p`, `21-${key}-q`, `1-${key}-q`];
    await insertProduct(first, "Run-together A", 100, at(0));
    await insertProduct(replaced, "Run-together B", 100, at(0));
    for (const price of [200, 300]) await updateProduct(replaced, { priceCents: price }, at(price));
    const before = await get("/products", plain);
    expect(before.status, "GET /products must answer 200").toBe(200);
    const beforeTag = before.headers.get("etag") ?? '"(no ETag)"';

    for (let price = 101; price <= 111; price++) await updateProduct(first, { priceCents: price }, at(price));
    await deleteProduct(replaced);
    await insertProduct(replacement, "Run-together C", 100, at(0));
    for (const price of [200, 300]) await updateProduct(replacement, { priceCents: price }, at(price));

    const after = await get("/products", { ...plain, "if-none-match": beforeTag });
    expect(
      after.status,
      `${first} went from version 1 to 12 and ${replaced} (version 3) was replaced by ${replacement} ` +
        `(version 3), yet the client holding the old list's ETag ${beforeTag} got ${after.status}: with nothing ` +
        `between one row's version and the next row's id, the old rows ("${first}", 1), ("${replaced}", 3) and ` +
        `the new ones ("${first}", 12), ("${replacement}", 3) spell the same text. Separate every id, version ` +
        "and row with a character no id or version contains (or length-prefix each part) before hashing",
    ).toBe(200);
  });

  it("gzip for clients that accept it, Vary: Accept-Encoding on every list response, no strong ETag shared by both", async () => {
    await insertProduct(uid("gzip"), "Compressible item", 100, at(0));
    const identity = await get("/products", plain);
    const compressed = await get("/products", gzip);
    expect(
      compressed.headers.get("content-encoding"),
      "a client that sends Accept-Encoding: gzip must get the list gzip-compressed (Content-Encoding: gzip)",
    ).toBe("gzip");
    expect(
      identity.headers.get("content-encoding"),
      "a client that does not accept gzip must get the list uncompressed",
    ).toBeNull();
    expect(json(compressed), "both encodings carry the same list").toEqual(json(identity));
    for (const acceptEncoding of ["gzip;q=0", "gzip; q=0", "gzip;q=0.0", "gzip;q=0, br", "br, deflate"]) {
      const reply = await get("/products", { "accept-encoding": acceptEncoding });
      expect(
        reply.headers.get("content-encoding"),
        `Accept-Encoding: ${acceptEncoding} does not allow gzip (q=0 means "not acceptable", RFC 9110, 12.5.3): ` +
          "send the list uncompressed, or this client cannot read it. A weight may have spaces before it and " +
          "decimals (0, 0.0, 0.5)",
      ).toBeNull();
    }
    for (const acceptEncoding of ["deflate, gzip;q=0.5", "*"]) {
      const weighted = await get("/products", { "accept-encoding": acceptEncoding });
      expect(
        weighted.headers.get("content-encoding"),
        `Accept-Encoding: ${acceptEncoding} allows gzip (any q above 0, and * covers every coding not listed, ` +
          "RFC 9110, 12.5.3): the list must be gzip-compressed",
      ).toBe("gzip");
    }

    for (const [which, reply] of [
      ["gzip", compressed],
      ["uncompressed", identity],
    ] as const) {
      const vary = varyNames(reply.headers.get("vary"));
      expect(
        vary.includes("accept-encoding") || vary.includes("*"),
        `the ${which} list response must say Vary: Accept-Encoding (got "${reply.headers.get("vary")}"): ` +
          "otherwise a shared cache stores one encoding under the URL and serves gzip bytes to clients that " +
          "cannot decode them",
      ).toBe(true);
    }

    const [plainTag, gzipTag] = [identity.headers.get("etag"), compressed.headers.get("etag")];
    expect(
      plainTag === gzipTag && !plainTag?.startsWith("W/"),
      `both encodings carry the strong ETag ${plainTag}, but a strong ETag promises identical bytes and the ` +
        "gzip body differs: make it weak (W/) or give each encoding its own tag",
    ).toBe(false);
    const revalidated = await get("/products", { ...gzip, "if-none-match": gzipTag ?? "" });
    expect(revalidated.status, "revalidating the gzip copy with its ETag must get 304").toBe(304);
    const vary304 = varyNames(revalidated.headers.get("vary"));
    expect(
      vary304.includes("accept-encoding") || vary304.includes("*"),
      `the list's 304 must say Vary: Accept-Encoding too (got "${revalidated.headers.get("vary")}"): a cache ` +
        "updates its stored response with the 304's headers, and every response of this route varies by encoding",
    ).toBe(true);
  });
});

task(4, "Keep each user's account private", () => {
  it("GET /account: the bearer's account, private, no-cache, Vary: Authorization and an ETag; no shared cache may store it", async () => {
    const id = uid("ada");
    const token = await insertAccount(id, "ada@example.com", "Ada");
    const reply = await get("/account", { authorization: `Bearer ${token}` });
    expect(reply.status, "GET /account with a valid bearer token must answer 200").toBe(200);
    expect(json(reply), "the body is the caller's account: { id, email, displayName }").toEqual({
      id,
      email: "ada@example.com",
      displayName: "Ada",
    });

    const cacheControl = reply.headers.get("cache-control");
    expect(
      sharedCacheMayStore(cacheControl, true),
      `with Cache-Control "${cacheControl}", a CDN or proxy in front of the API may store Ada's account and ` +
        "hand it to the next user who asks for /account. A user's own data is private",
    ).toBe(false);
    const cc = directives(cacheControl);
    expect(
      cc.has("private") && cc.has("no-cache"),
      `Cache-Control must be "private, no-cache": only the user's browser keeps it, and it revalidates before every use (got "${cacheControl}")`,
    ).toBe(true);
    expect(
      varyNames(reply.headers.get("vary")),
      "the account depends on the Authorization header: say Vary: Authorization, so a browser shared by two " +
        "users keeps their copies apart",
    ).toContain("authorization");
    expect(reply.headers.get("etag"), "the account needs an ETag for revalidation").toMatch(etagSyntax);
  });

  it("If-None-Match on /account: 304 for the same user, never for another user's tag, 200 once it changes", async () => {
    const [ada, bob] = [uid("ada"), uid("bob")];
    const adaToken = await insertAccount(ada, "ada@example.com", "Ada");
    const bobToken = await insertAccount(bob, "bob@example.com", "Bob");
    const adaEtag =
      (await get("/account", { authorization: `Bearer ${adaToken}` })).headers.get("etag") ?? "";

    const same = await get("/account", { authorization: `Bearer ${adaToken}`, "if-none-match": adaEtag });
    expect(same.status, "Ada revalidating her own current copy gets 304").toBe(304);
    expect(same.headers.get("etag"), "the account's 304 repeats its ETag").toBe(adaEtag);
    const cc304 = directives(same.headers.get("cache-control"));
    expect(
      cc304.has("private") && cc304.has("no-cache"),
      `the account's 304 must repeat Cache-Control: private, no-cache (got "${same.headers.get("cache-control")}"): ` +
        "a cache updates the stored response with the 304's headers",
    ).toBe(true);
    expect(
      varyNames(same.headers.get("vary")),
      "the account's 304 must repeat Vary: Authorization, like the 200",
    ).toContain("authorization");

    const other = await get("/account", { authorization: `Bearer ${bobToken}`, "if-none-match": adaEtag });
    expect(
      other.status,
      `Bob sent Ada's ETag ${adaEtag} and got ${other.status}: both accounts are at version 1, and an ETag made ` +
        "of the version alone says Bob holds a current copy of his account when he holds Ada's. /account is a " +
        "different resource per user: put the account's identity into its ETag",
    ).toBe(200);
    expect(json(other), "Bob gets his own account").toEqual({
      id: bob,
      email: "bob@example.com",
      displayName: "Bob",
    });

    // The same person's second account: the same email and name, at the same version; only the account differs.
    const twin = uid("ada-work");
    const twinToken = await insertAccount(twin, "ada@example.com", "Ada");
    const twinReply = await get("/account", {
      authorization: `Bearer ${twinToken}`,
      "if-none-match": adaEtag,
    });
    expect(
      twinReply.status,
      `Ada's second account (same email, same name, also version 1) sent her first account's ETag ${adaEtag} ` +
        `and got ${twinReply.status}: an ETag built from the account's content or name says one account's copy ` +
        "is current for another. Put the account's id into its ETag",
    ).toBe(200);
    expect(json(twinReply), "the second account gets its own id").toEqual({
      id: twin,
      email: "ada@example.com",
      displayName: "Ada",
    });

    await renameAccount(ada, "Ada Lovelace");
    const changed = await get("/account", { authorization: `Bearer ${adaToken}`, "if-none-match": adaEtag });
    expect(changed.status, "Ada's account changed: her old ETag must get a 200").toBe(200);
    expect(json(changed), "with the new name").toEqual({
      id: ada,
      email: "ada@example.com",
      displayName: "Ada Lovelace",
    });
  });

  it("no token or an unknown token: 401 with WWW-Authenticate: Bearer and Cache-Control: no-store", async () => {
    for (const headers of [{}, { authorization: "Bearer tok_not-a-real-token" }] as Record<
      string,
      string
    >[]) {
      const what = "authorization" in headers ? "an unknown token" : "no Authorization header";
      const reply = await get("/account", headers);
      expect(reply.status, `GET /account with ${what} must be 401`).toBe(401);
      expect(
        reply.headers.get("www-authenticate"),
        "a 401 must say how to authenticate: WWW-Authenticate: Bearer",
      ).toMatch(/^Bearer\b/i);
      expect(
        directives(reply.headers.get("cache-control")).has("no-store"),
        `the 401 must not be stored anywhere (Cache-Control: no-store), got "${reply.headers.get("cache-control")}"`,
      ).toBe(true);
    }
  });
});
