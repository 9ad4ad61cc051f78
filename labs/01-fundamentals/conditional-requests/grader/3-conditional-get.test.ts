import { expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import { got, insertDocument, send } from "./helpers.ts";

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
      fresh.headers.get("etag"),
      "a 304 must still send the ETag, so the client knows which version it holds",
    ).toBe('"3"');

    const stale = await send("GET", path, { headers: { "if-none-match": '"2"' } });
    expect(stale.status, `If-None-Match "2" does not match version 3: answer 200 (${got(stale)})`).toBe(200);
    expect(stale.json, "a 200 after a failed If-None-Match carries the full document").toEqual(stored);
    expect(stale.headers.get("etag"), 'and the current ETag, "3"').toBe('"3"');
  });

  it("If-None-Match understands lists, * and weak tags", async () => {
    const stored = await insertDocument("match-forms", 4);
    const path = `/documents/${stored.id}`;
    const forms: { header: string; why: string }[] = [
      { header: '"1", "4"', why: "a list of ETags matches when any of them matches" },
      { header: "*", why: "* matches any current representation" },
      { header: 'W/"4"', why: 'If-None-Match uses the weak comparison: W/"4" matches "4"' },
    ];
    for (const { header, why } of forms) {
      const reply = await send("GET", path, { headers: { "if-none-match": header } });
      expect(
        reply.status,
        `If-None-Match: ${header} on version 4 must answer 304: ${why} (${got(reply)})`,
      ).toBe(304);
    }
    const other = await send("GET", path, { headers: { "if-none-match": '"1", W/"2"' } });
    expect(other.status, `If-None-Match: "1", W/"2" matches nothing on version 4: 200 (${got(other)})`).toBe(
      200,
    );
  });

  it("the ETag follows the row: after the row changes, the old ETag gets 200 and the new version", async () => {
    const stored = await insertDocument("follows-row");
    const path = `/documents/${stored.id}`;
    const first = await send("GET", path);
    expect(first.headers.get("etag"), `GET must send ETag "1" for version 1 (${got(first)})`).toBe('"1"');

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
    expect(after.headers.get("etag"), 'the ETag must now be "2": derive it from the row you just read').toBe(
      '"2"',
    );
    expect(
      (after.json as { title?: string } | undefined)?.title,
      "the body must be the row as it is now",
    ).toBe("edited elsewhere");
  });
});
