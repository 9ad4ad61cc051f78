import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import { type Doc, got, insertDocument, raceOnLockedRow, send, storedDocument } from "./helpers.ts";

task(4, "Prevent lost updates with If-Match", () => {
  it("PUT and DELETE without If-Match answer 428 and change nothing", async () => {
    const stored = await insertDocument("unconditional");
    const path = `/documents/${stored.id}`;

    const put = await send("PUT", path, { json: { title: "blind overwrite", body: "x" } });
    expect(
      put.status,
      `a PUT without If-Match could silently overwrite someone else's change: answer 428 Precondition Required ` +
        `(${got(put)})`,
    ).toBe(428);
    const remove = await send("DELETE", path);
    expect(remove.status, `a DELETE without If-Match must answer 428 too (${got(remove)})`).toBe(428);
    expect(await storedDocument(stored.id), "a request answered 428 must leave the row untouched").toEqual(
      stored,
    );
  });

  it("PUT with the current ETag replaces the document and bumps the version; the stale ETag then gets 412", async () => {
    const stored = await insertDocument("update");
    const path = `/documents/${stored.id}`;

    const alice = await send("PUT", path, {
      json: { title: "Alice's title", body: "Alice's body" },
      headers: { "if-match": '"1"' },
    });
    expect(alice.status, `PUT with If-Match "1" on version 1 must succeed with 200 (${got(alice)})`).toBe(
      200,
    );
    const expected: Doc = { id: stored.id, title: "Alice's title", body: "Alice's body", version: 2 };
    expect(alice.json, "the 200 body must be the document as stored after the update").toEqual(expected);
    expect(alice.headers.get("etag"), 'the response must carry the new ETag, "2"').toBe('"2"');
    expect(
      await storedDocument(stored.id),
      "the row must hold the new title and body, and its version must go from 1 to 2",
    ).toEqual(expected);

    // Bob read version 1 before Alice wrote, and now saves his edit of it.
    const bob = await send("PUT", path, {
      json: { title: "Bob's title", body: "Bob's body" },
      headers: { "if-match": '"1"' },
    });
    expect(
      bob.status,
      `Bob's PUT is based on version 1, but the document is at version 2: answer 412 Precondition Failed, or ` +
        `Alice's update is lost (${got(bob)})`,
    ).toBe(412);
    expect(await storedDocument(stored.id), "a PUT answered 412 must not touch the row").toEqual(expected);

    const weak = await send("PUT", path, {
      json: { title: "weak", body: "w" },
      headers: { "if-match": 'W/"2"' },
    });
    expect(
      weak.status,
      `If-Match uses the strong comparison: a weak tag (W/"2") never matches, so answer 412 (${got(weak)})`,
    ).toBe(412);

    const listed = await send("PUT", path, {
      json: { title: "listed", body: "l" },
      headers: { "if-match": '"7", "2"' },
    });
    expect(listed.status, `If-Match: "7", "2" lists the current ETag: answer 200 (${got(listed)})`).toBe(200);
    expect((await storedDocument(stored.id))?.version, "the version must now be 3").toBe(3);

    const nowhere = await send("PUT", `/documents/${randomUUID()}`, {
      json: { title: "ghost", body: "g" },
      headers: { "if-match": '"1"' },
    });
    expect(nowhere.status, `a PUT to a document that does not exist must answer 404 (${got(nowhere)})`).toBe(
      404,
    );
  });

  it("DELETE with a stale ETag answers 412 and keeps the row; with the current one it answers 204 and the row is gone", async () => {
    const stored = await insertDocument("delete", 5);
    const path = `/documents/${stored.id}`;

    const stale = await send("DELETE", path, { headers: { "if-match": '"4"' } });
    expect(stale.status, `DELETE with If-Match "4" on version 5 must answer 412 (${got(stale)})`).toBe(412);
    expect(await storedDocument(stored.id), "a DELETE answered 412 must keep the row").toEqual(stored);

    const current = await send("DELETE", path, { headers: { "if-match": '"5"' } });
    expect(current.status, `DELETE with the current ETag must answer 204 No Content (${got(current)})`).toBe(
      204,
    );
    expect(current.text, "a 204 response has no body").toBe("");
    expect(await storedDocument(stored.id), "after a 204 the row must be deleted").toBeUndefined();
    const gone = await send("GET", path);
    expect(gone.status, `GET on a deleted document must answer 404 (${got(gone)})`).toBe(404);
  });

  it("two concurrent PUTs with the same If-Match: exactly one wins, the other gets 412", async () => {
    const stored = await insertDocument("race");
    const path = `/documents/${stored.id}`;
    const edits = ["first editor", "second editor"];

    const replies = await raceOnLockedRow(stored.id, 2, () =>
      edits.map((title) =>
        send("PUT", path, { json: { title, body: `${title}'s body` }, headers: { "if-match": '"1"' } }),
      ),
    );

    const statuses = replies.map((reply) => reply.status).sort();
    const row = await storedDocument(stored.id);
    expect(
      statuses,
      `two editors both sent If-Match "1" at the same moment, and got ${statuses.join(" and ")}. Exactly one may ` +
        `win (200); the other must get 412. Reading the version and then writing the row in two steps lets both ` +
        `pass the check: put the version check in the write itself (UPDATE ... WHERE id = $1 AND version = $2), ` +
        `or lock the row while you check`,
    ).toEqual([200, 412]);
    const winner = replies.find((reply) => reply.status === 200)!.json as Doc;
    expect(row?.version, "the row was written once, so its version must be 2").toBe(2);
    expect(row, "the row must hold the winner's edit, exactly as its 200 response said").toEqual(winner);
  });
});
