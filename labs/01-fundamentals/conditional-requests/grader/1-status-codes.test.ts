import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import {
  type Doc,
  expectJsonBody,
  expectJsonError,
  failInsertsOfTitle,
  got,
  headerList,
  headerOf,
  insertDocument,
  learnerConnections,
  send,
  storedDocument,
  uid,
} from "./helpers.ts";

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

task(1, "Create and read documents with the right status codes and headers", () => {
  it("POST /documents answers 201 with Location, ETag and the stored document, and GET follows the Location", async () => {
    const title = uid("create");
    const created = await send("POST", "/documents", { json: { title, body: "first draft" } });
    expect(created.status, `creating a document must answer 201 Created (${got(created)})`).toBe(201);
    expectJsonBody(created, "the 201 of POST /documents");
    const document = created.json as Doc;
    expect(
      document,
      "the 201 body must be the new document { id, title, body, version: 1 }, with the id Postgres generated",
    ).toEqual({ id: expect.stringMatching(uuidPattern) as string, title, body: "first draft", version: 1 });
    expect(
      headerOf(
        created,
        "location",
        "201 Created must say where the new document lives: Location: /documents/<id>",
      ),
      "the Location header must be the path of the new document: /documents/<id>",
    ).toBe(`/documents/${document.id}`);
    expect(
      headerOf(created, "etag", 'the new document is version 1, so the 201 must carry ETag: "1"'),
      'the new document is version 1, so its ETag is "1" (the version in double quotes)',
    ).toBe('"1"');
    expect(
      await storedDocument(document.id),
      "POST must INSERT one row into documents; the row must hold the title, the body and version 1",
    ).toEqual({ id: document.id, title, body: "first draft", version: 1 });

    const read = await send("GET", `/documents/${document.id}`);
    expect(read.status, `GET on the Location of a new document must answer 200 (${got(read)})`).toBe(200);
    expect(read.json, "GET must return the same document the POST returned").toEqual(document);
    expect(read.headers.get("etag"), 'GET must send the ETag of the current version: "1"').toBe('"1"');
  });

  it("GET answers 200 with the row's ETag, and HEAD sends the same headers without a body", async () => {
    const stored = await insertDocument("read", 7);
    const read = await send("GET", `/documents/${stored.id}`);
    expect(read.status, `GET on an existing document must answer 200 (${got(read)})`).toBe(200);
    expectJsonBody(read, "the 200 of GET /documents/{id}");
    expect(read.json, "GET must return the row as { id, title, body, version }, read from Postgres").toEqual(
      stored,
    );
    expect(
      headerOf(read, "etag", "GET must send the document's ETag"),
      'the ETag is the row\'s version in double quotes: version 7 is ETag "7" (a strong ETag: no W/ prefix)',
    ).toBe('"7"');

    const head = await send("HEAD", `/documents/${stored.id}`);
    expect(head.status, `HEAD must answer like GET: 200 (${got(head)})`).toBe(200);
    expect(head.headers.get("etag"), "HEAD must carry the same ETag as GET").toBe('"7"');
    expect(head.text, "a HEAD response never has a body").toBe("");

    const headMissing = await send("HEAD", `/documents/${randomUUID()}`);
    expect(
      headMissing.status,
      `HEAD answers the same status as GET would: 404 for a document that does not exist (${got(headMissing)})`,
    ).toBe(404);
  });

  it("unknown documents and paths answer 404 with a JSON error, including ids that are not UUIDs", async () => {
    const missing = await send("GET", `/documents/${randomUUID()}`);
    expect(missing.status, `a document id that has no row must answer 404 Not Found (${got(missing)})`).toBe(
      404,
    );
    expectJsonError(missing, "the 404 for a document that does not exist");

    const malformed = await send("GET", "/documents/not-a-uuid");
    expect(
      malformed.status,
      `an id that is not a UUID names no document: answer 404, not 500. Passing it to Postgres as a uuid fails ` +
        `with "invalid input syntax for type uuid" (${got(malformed)})`,
    ).toBe(404);

    const elsewhere = await send("GET", "/no-such-path");
    expect(elsewhere.status, `a path the API does not serve must answer 404 (${got(elsewhere)})`).toBe(404);
    expectJsonError(elsewhere, "the 404 for an unknown path");
  });

  it("an id with extra characters around a UUID, or a path below a document, answers 404", async () => {
    const stored = await insertDocument("near-miss");
    for (const id of [`${stored.id}x`, `x${stored.id}`, `${stored.id}-${stored.id}`]) {
      const reply = await send("GET", `/documents/${id}`);
      expect(
        reply.status,
        `GET /documents/${id}: "${id}" contains a UUID but is not one, so it names no document: answer 404. ` +
          `Check the whole id (a regular expression anchored with ^ and $), not whether a UUID appears in it (${got(reply)})`,
      ).toBe(404);
    }
    const prefixed = await send("GET", `/v1/documents/${stored.id}`);
    expect(
      prefixed.status,
      `/v1/documents/{id} is not a path of the API: answer 404. Match the whole path from its start (^), not a ` +
        `path that merely ends like /documents/{id} (${got(prefixed)})`,
    ).toBe(404);
    const below = await send("GET", `/documents/${stored.id}/history`);
    expect(
      below.status,
      `/documents/{id}/history is not a path of the API (only /documents and /documents/{id} are): answer 404, ` +
        `do not serve the document for any path that starts with /documents/{id} (${got(below)})`,
    ).toBe(404);
  });

  it("a method a path does not support answers 405 with an Allow header listing the supported ones", async () => {
    for (const method of ["DELETE", "GET", "PUT"]) {
      const reply = await send(method, "/documents", {
        // fetch sends no body with a GET.
        ...(method !== "GET" && { json: { title: uid("not-allowed"), body: "x" } }),
        headers: { "if-match": "*" },
      });
      expect(reply.status, `${method} /documents is not supported: 405 (${got(reply)})`).toBe(405);
      expect(
        headerList(
          headerOf(
            reply,
            "allow",
            `a 405 must carry an Allow header with the methods ${method} /documents could use`,
          ),
        ),
        "a 405 response must carry an Allow header with the methods the path does support: /documents allows POST",
      ).toEqual(["POST"]);
      expectJsonError(reply, `the 405 for ${method} /documents`);
    }

    const stored = await insertDocument("patch");
    for (const method of ["PATCH", "POST"]) {
      const reply = await send(method, `/documents/${stored.id}`, {
        json: { title: "changed by a method that is not allowed", body: "x" },
        headers: { "if-match": '"1"' },
      });
      expect(reply.status, `${method} /documents/{id} is not supported: 405 (${got(reply)})`).toBe(405);
      expect(
        headerList(
          headerOf(
            reply,
            "allow",
            `a 405 must carry an Allow header with the methods ${method} /documents/{id} could use`,
          ),
        ),
        "the Allow header of /documents/{id} must list GET, HEAD, PUT and DELETE",
      ).toEqual(["DELETE", "GET", "HEAD", "PUT"]);
      expectJsonError(reply, `the 405 for ${method} /documents/{id}`);
    }
    expect(await storedDocument(stored.id), "a request answered 405 must not change the row").toEqual(stored);
  });

  it("when Postgres fails, the server answers a JSON error and keeps serving", async () => {
    const title = uid("db-failure");
    const restore = await failInsertsOfTitle(title);
    const failed = await send("POST", "/documents", { json: { title, body: "x" } }).finally(restore);
    expect(
      failed.status,
      `the grader made Postgres refuse this INSERT: the server must answer with a 5xx status, as for any error of ` +
        `its own (${got(failed)})`,
    ).toBeGreaterThanOrEqual(500);
    expect(failed.status, `a server error is a 5xx status (${got(failed)})`).toBeLessThan(600);
    expectJsonError(failed, "the 500 for a failed INSERT");
    const stored = await insertDocument("after-failure");
    const after = await send("GET", `/documents/${stored.id}`);
    expect(
      after.status,
      `after a request failed inside Postgres, the server must keep serving: GET must answer 200 (${got(after)})`,
    ).toBe(200);
  });

  it("the server shares one pg.Pool: requests one after the other do not each open a connection", async () => {
    const stored = await insertDocument("one-pool");
    const requests = 40;
    for (let i = 0; i < requests; i++) {
      const reply = await send("GET", `/documents/${stored.id}`);
      expect(reply.status, `GET on an existing document must answer 200 (${got(reply)})`).toBe(200);
    }
    const open = await learnerConnections();
    expect(
      open,
      `after ${requests} requests sent one after the other, your server holds ${open} connections to Postgres. ` +
        `Build one pg.Pool when the server starts and share it: a pool (or client) made per request opens a new ` +
        `connection each time, and until it is ended that connection stays open, until Postgres refuses more`,
    ).toBeLessThanOrEqual(10);
  });
});
