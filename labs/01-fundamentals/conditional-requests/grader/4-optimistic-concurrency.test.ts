import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import {
  type Doc,
  expectJsonBody,
  expectJsonError,
  got,
  insertDocument,
  raceOnLockedRow,
  send,
  storedDocument,
} from "./helpers.ts";

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
    expectJsonError(put, "the 428 for a PUT without If-Match");
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
    expectJsonBody(alice, "the 200 of a PUT");
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
    expectJsonError(bob, "the 412 for a stale If-Match");
    expect(await storedDocument(stored.id), "a PUT answered 412 must not touch the row").toEqual(expected);
  });

  it("If-Match uses the strong comparison: a weak tag never matches, on PUT and on DELETE", async () => {
    const stored = await insertDocument("weak", 2);
    const path = `/documents/${stored.id}`;
    const put = await send("PUT", path, {
      json: { title: "weak", body: "w" },
      headers: { "if-match": 'W/"2"' },
    });
    expect(
      put.status,
      `If-Match uses the strong comparison: a weak tag (W/"2") never matches, even on version 2, so answer 412 ` +
        `(${got(put)})`,
    ).toBe(412);
    const remove = await send("DELETE", path, { headers: { "if-match": 'W/"2"' } });
    expect(
      remove.status,
      `DELETE with If-Match: W/"2" must answer 412 as well: a weak tag never matches (${got(remove)})`,
    ).toBe(412);
    expect(await storedDocument(stored.id), "a request answered 412 must not touch the row").toEqual(stored);
  });

  it("If-Match tags that name no version of the document (text, or a number too large for a version) answer 412", async () => {
    const stored = await insertDocument("foreign-tags", 3);
    const path = `/documents/${stored.id}`;
    for (const ifMatch of ['"draft"', '"99999999999"', '"3x"', '"x3"']) {
      const put = await send("PUT", path, {
        json: { title: "foreign tag", body: "f" },
        headers: { "if-match": ifMatch },
      });
      expect(
        put.status,
        `If-Match: ${ifMatch} names no version of this document (version 3): no tag matches, so answer 412. A tag ` +
          `is the client's text: compare it to the version without assuming it is a number your SQL can take ` +
          `(${got(put)})`,
      ).toBe(412);
    }
    const remove = await send("DELETE", path, { headers: { "if-match": '"draft", "99999999999"' } });
    expect(
      remove.status,
      `DELETE with If-Match: "draft", "99999999999" must answer 412 (${got(remove)})`,
    ).toBe(412);
    expect(await storedDocument(stored.id), "a request answered 412 must not touch the row").toEqual(stored);
  });

  it("If-Match understands lists of tags and *, on PUT and on DELETE", async () => {
    const stored = await insertDocument("if-match-forms", 12);
    const path = `/documents/${stored.id}`;
    const listed = await send("PUT", path, {
      json: { title: "listed", body: "l" },
      headers: { "if-match": '"7", "12"' },
    });
    expect(
      listed.status,
      `If-Match: "7", "12" lists the current ETag ("12"): answer 200. A list matches when any of its tags does ` +
        `(${got(listed)})`,
    ).toBe(200);
    expect(
      (await storedDocument(stored.id))?.version,
      "a PUT must increment the version by one: 12 to 13",
    ).toBe(13);

    const star = await send("PUT", path, {
      json: { title: "starred", body: "s" },
      headers: { "if-match": "*" },
    });
    expect(
      star.status,
      `If-Match: * matches any current version of an existing document: answer 200 (${got(star)})`,
    ).toBe(200);
    expect(
      star.json,
      "a PUT with If-Match: * replaces title and body and increments the version by one (13 to 14), like any PUT",
    ).toEqual({ id: stored.id, title: "starred", body: "s", version: 14 });
    expect(star.headers.get("etag"), 'and it carries the new ETag, "14"').toBe('"14"');

    const listedDelete = await insertDocument("if-match-list-delete", 3);
    const removeListed = await send("DELETE", `/documents/${listedDelete.id}`, {
      headers: { "if-match": '"1", "3"' },
    });
    expect(
      removeListed.status,
      `DELETE with If-Match: "1", "3" lists the current ETag ("3"): answer 204 (${got(removeListed)})`,
    ).toBe(204);
    expect(await storedDocument(listedDelete.id), "after a 204 the row must be deleted").toBeUndefined();

    const starDelete = await send("DELETE", path, { headers: { "if-match": "*" } });
    expect(
      starDelete.status,
      `DELETE with If-Match: * on an existing document must answer 204 (${got(starDelete)})`,
    ).toBe(204);
    expect(await storedDocument(stored.id), "after a 204 the row must be deleted").toBeUndefined();
  });

  it("PUT and DELETE on a document that does not exist answer 404, whatever If-Match holds", async () => {
    for (const ifMatch of ['"1"', "*"]) {
      const put = await send("PUT", `/documents/${randomUUID()}`, {
        json: { title: "ghost", body: "g" },
        headers: { "if-match": ifMatch },
      });
      expect(
        put.status,
        `a PUT with If-Match: ${ifMatch} to a document that does not exist must answer 404, not 412: when the ` +
          `conditional write changes no row, find out whether the row is missing (404) or newer (412) (${got(put)})`,
      ).toBe(404);
      const remove = await send("DELETE", `/documents/${randomUUID()}`, { headers: { "if-match": ifMatch } });
      expect(
        remove.status,
        `a DELETE with If-Match: ${ifMatch} of a document that does not exist must answer 404, not 412 or 204 ` +
          `(${got(remove)})`,
      ).toBe(404);
      expectJsonError(remove, "the 404 for a DELETE of a missing document");
    }
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
      replies.filter((reply) => reply.status !== 200 && reply.status !== 412).map(got),
      `two PUTs with If-Match "1" on version 1, sent at the same moment: each must answer 200 (it won) or 412 ` +
        `(the other one won first)`,
    ).toEqual([]);
    expect(
      statuses,
      `two editors both sent If-Match "1" at the same moment, and got ${statuses.join(" and ")}. Exactly one may ` +
        `win (200); the other must get 412. ` +
        (statuses[0] === 200
          ? `Both passed the check: reading the version and then writing the row in two steps lets both through. ` +
            `Put the version check in the write itself (UPDATE ... WHERE id = $1 AND version = $2), or lock the ` +
            `row while you check`
          : `Neither won: the first PUT to reach the row is based on its current version and must succeed`),
    ).toEqual([200, 412]);
    const winner = replies.find((reply) => reply.status === 200)!.json as Doc;
    expect(row?.version, "the row was written once, so its version must be 2").toBe(2);
    expect(row, "the row must hold the winner's edit, exactly as its 200 response said").toEqual(winner);
  });

  it("a DELETE based on the version another writer is committing answers 412 and keeps that writer's update", async () => {
    const stored = await insertDocument("delete-race");
    const path = `/documents/${stored.id}`;
    // Another instance of the API is saving version 2 right now: its UPDATE holds the row until it commits.
    const [remove] = await raceOnLockedRow(
      stored.id,
      1,
      () => [send("DELETE", path, { headers: { "if-match": '"1"' } })],
      { title: "saved by another editor" },
    );
    const hint =
      remove!.status === 204
        ? ". Your DELETE deleted the newer version unseen: reading the version and then deleting by id is two " +
          "steps. Put the version check in the DELETE itself (DELETE ... WHERE id = $1 AND version = $2), or lock " +
          "the row while you check"
        : "";
    expect(
      remove!.status,
      `a DELETE with If-Match "1" arrived while another writer was saving version 2. Once that write commits, ` +
        `version 1 is gone, so the DELETE must answer 412 and keep the row${hint} (${got(remove!)})`,
    ).toBe(412);
    expect(
      await storedDocument(stored.id),
      "the other writer's version 2 must still be there: a DELETE answered 412 changes nothing",
    ).toEqual({ ...stored, title: "saved by another editor", version: 2 });
  });

  it("a request with several problems gets the path's answer first: 404 for an id that is not a UUID, then 405", async () => {
    const notUuid = await send("PUT", "/documents/not-a-uuid", {
      raw: "not json",
      headers: { "content-type": "text/plain" },
    });
    expect(
      notUuid.status,
      `PUT /documents/not-a-uuid with a text/plain body and no If-Match has several problems; the first in the ` +
        `README's order is the path: an id that is not a UUID answers 404 before 415, 400 or 428 (${got(notUuid)})`,
    ).toBe(404);
    const notUuidMethod = await send("PATCH", "/documents/not-a-uuid");
    expect(
      notUuidMethod.status,
      `PATCH /documents/not-a-uuid: the id is not a UUID, so the path names nothing and the answer is 404, which ` +
        `comes before 405 (${got(notUuidMethod)})`,
    ).toBe(404);
    const stored = await insertDocument("method-before-body");
    const method = await send("POST", `/documents/${stored.id}`, {
      raw: "not json",
      headers: { "content-type": "text/plain" },
    });
    expect(
      method.status,
      `POST /documents/{id} with a text/plain body: the method is not supported, and 405 comes before 415 ` +
        `(${got(method)})`,
    ).toBe(405);
    expect(await storedDocument(stored.id), "a request answered 405 must not change the row").toEqual(stored);
  });

  it("a request with several problems gets 415, then 400, then 428, then the database's 404 or 412", async () => {
    const stored = await insertDocument("order", 2);
    const path = `/documents/${stored.id}`;
    const plain = await send("PUT", path, { raw: "not json", headers: { "content-type": "text/plain" } });
    expect(
      plain.status,
      `a PUT with a text/plain body and no If-Match must answer 415` +
        (plain.status === 428
          ? `: the README's order puts 415 before 428, so check the Content-Type before you ask for If-Match`
          : "") +
        ` (${got(plain)})`,
    ).toBe(415);
    const malformed = await send("PUT", path, {
      raw: '{"title": "half a',
      headers: { "content-type": "application/json" },
    });
    expect(
      malformed.status,
      `a PUT with malformed JSON and no If-Match must answer 400` +
        (malformed.status === 428
          ? ": the README's order puts 400 before 428, so read and check the body before you ask for If-Match"
          : "") +
        ` (${got(malformed)})`,
    ).toBe(400);
    const staleAndMalformed = await send("PUT", path, {
      raw: JSON.stringify({ title: "", body: "empty title" }),
      headers: { "content-type": "application/json", "if-match": '"1"' },
    });
    expect(
      staleAndMalformed.status,
      `a PUT with an empty title and a stale If-Match must answer 400` +
        (staleAndMalformed.status === 412
          ? ": a body the API cannot accept is refused before the database is asked about versions"
          : "") +
        ` (${got(staleAndMalformed)})`,
    ).toBe(400);
    expect(await storedDocument(stored.id), "requests answered 415 or 400 must not touch the row").toEqual(
      stored,
    );

    const missing = `/documents/${randomUUID()}`;
    const putMissing = await send("PUT", missing, { json: { title: "ghost", body: "g" } });
    expect(
      putMissing.status,
      `a PUT without If-Match to a document that does not exist must answer 428` +
        (putMissing.status === 404
          ? ": the README's order puts 428 before the database's 404, so ask for If-Match before you look the row up"
          : "") +
        ` (${got(putMissing)})`,
    ).toBe(428);
    const deleteMissing = await send("DELETE", missing);
    expect(
      deleteMissing.status,
      `a DELETE without If-Match of a document that does not exist must answer 428 before 404 ` +
        `(${got(deleteMissing)})`,
    ).toBe(428);
    const badBodyMissing = await send("PUT", missing, {
      raw: "[]",
      headers: { "content-type": "application/json", "if-match": '"1"' },
    });
    expect(
      badBodyMissing.status,
      `a PUT whose body is a JSON array, to a document that does not exist, must answer 400` +
        (badBodyMissing.status === 404 ? ": 400 comes before the database's 404" : "") +
        ` (${got(badBodyMissing)})`,
    ).toBe(400);
  });
});
