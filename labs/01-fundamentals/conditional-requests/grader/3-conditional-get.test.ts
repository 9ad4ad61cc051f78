import { expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import { randomUUID } from "node:crypto";
import { expectJsonBody, got, headerOf, insertDocument, send } from "./helpers.ts";

task(3, "Answer conditional GETs with 304 Not Modified", () => {
  it("If-None-Match with the current ETag answers 304 with the ETag and no body; another ETag gets 200", async () => {
    const stored = await insertDocument("not-modified", 3);
    const path = `/documents/${stored.id}`;

    const fresh = await send("GET", path, { headers: { "if-none-match": '"3"' } });
    expect(
      fresh.status,
      `the client's copy ("3") is the current version, so GET must answer 304 Not Modified (${got(fresh)})`,
    ).toBe(304);
    expect(fresh.text, "a 304 response has no body: the client reuses the copy it has").toBe("");
    expect(
      headerOf(fresh, "etag", "a 304 must still send the ETag, so the client knows which version it holds"),
      "a 304 must send the current ETag",
    ).toBe('"3"');

    const stale = await send("GET", path, { headers: { "if-none-match": '"2"' } });
    expect(stale.status, `If-None-Match "2" does not match version 3: answer 200 (${got(stale)})`).toBe(200);
    expectJsonBody(stale, "the 200 after a failed If-None-Match");
    expect(stale.json, "a 200 after a failed If-None-Match carries the full document").toEqual(stored);
    expect(stale.headers.get("etag"), 'and the current ETag, "3"').toBe('"3"');
  });

  it("If-None-Match understands lists, * and weak tags", async () => {
    const stored = await insertDocument("match-forms", 14);
    const path = `/documents/${stored.id}`;
    const forms: { header: string; why: string }[] = [
      { header: '"1", "14"', why: "a list of ETags matches when any of them matches" },
      { header: "*", why: "* matches any current representation" },
      { header: 'W/"14"', why: 'If-None-Match uses the weak comparison: W/"14" matches "14"' },
    ];
    for (const { header, why } of forms) {
      const reply = await send("GET", path, { headers: { "if-none-match": header } });
      expect(
        reply.status,
        `If-None-Match: ${header} on version 14 must answer 304: ${why} (${got(reply)})`,
      ).toBe(304);
    }
    for (const header of ['"1", W/"2"', '"4", "41", "114"', '"14x"']) {
      const other = await send("GET", path, { headers: { "if-none-match": header } });
      expect(
        other.status,
        `If-None-Match: ${header} has no tag equal to "14", so it matches nothing on version 14: answer 200. ` +
          `Compare each tag's whole value to the version, not whether the header contains it (${got(other)})`,
      ).toBe(200);
    }
  });

  it("HEAD answers If-None-Match like GET: 304 with the ETag when it matches, 200 when it does not", async () => {
    const stored = await insertDocument("head-not-modified", 2);
    const path = `/documents/${stored.id}`;
    const fresh = await send("HEAD", path, { headers: { "if-none-match": '"2"' } });
    expect(
      fresh.status,
      `a HEAD with If-None-Match "2" on version 2 must answer 304 Not Modified, like a GET: the README applies ` +
        `If-None-Match to GET and HEAD (${got(fresh)})`,
    ).toBe(304);
    expect(
      headerOf(fresh, "etag", "the 304 to a HEAD must carry the ETag too"),
      "the 304 to a HEAD must carry the current ETag",
    ).toBe('"2"');
    const stale = await send("HEAD", path, { headers: { "if-none-match": '"1"' } });
    expect(stale.status, `HEAD with If-None-Match "1" on version 2 must answer 200 (${got(stale)})`).toBe(
      200,
    );
  });

  it("If-None-Match: * on a document that does not exist answers 404, not 304", async () => {
    const reply = await send("GET", `/documents/${randomUUID()}`, { headers: { "if-none-match": "*" } });
    expect(
      reply.status,
      `* matches any existing document, and this one does not exist: answer 404. A 304 would tell the client ` +
        `to keep a copy of something that is gone; read the row before you evaluate If-None-Match (${got(reply)})`,
    ).toBe(404);
  });

  it("the ETag follows the row: after the row changes, the old ETag gets 200 and the new version", async () => {
    const stored = await insertDocument("follows-row");
    const path = `/documents/${stored.id}`;
    const first = await send("GET", path);
    expect(first.status, `GET on an existing document must answer 200 (${got(first)})`).toBe(200);
    expect(
      headerOf(first, "etag", 'GET must send ETag "1" for version 1'),
      'GET must send ETag "1" for version 1',
    ).toBe('"1"');

    // Another instance of the API (here: the grader) writes the row. The ETag must come from Postgres,
    // not from anything the process remembered.
    await postgres().query("UPDATE documents SET title = 'edited elsewhere', version = 2 WHERE id = $1", [
      stored.id,
    ]);
    const after = await send("GET", path, { headers: { "if-none-match": '"1"' } });
    expect(
      after.status,
      `the row is now version 2, so If-None-Match "1" must answer 200 with the new document (${got(after)})`,
    ).toBe(200);
    expect(
      headerOf(after, "etag", 'the 200 must carry the ETag of version 2, "2"'),
      'the ETag must now be "2": derive it from the row you just read',
    ).toBe('"2"');
    expect(
      (after.json as { title?: string } | undefined)?.title,
      "the body must be the row as it is now",
    ).toBe("edited elsewhere");
  });
});
