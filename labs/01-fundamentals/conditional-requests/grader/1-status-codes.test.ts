import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import { type Doc, got, headerList, insertDocument, send, storedDocument, uid } from "./helpers.ts";

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

task(1, "Create and read documents with the right status codes and headers", () => {
  it("POST /documents answers 201 with Location, ETag and the stored document, and GET follows the Location", async () => {
    const title = uid("create");
    const created = await send("POST", "/documents", { json: { title, body: "first draft" } });
    expect(created.status, `creating a document must answer 201 Created (${got(created)})`).toBe(201);
    expect(
      created.headers.get("content-type") ?? "",
      "a JSON body must be labelled Content-Type: application/json",
    ).toMatch(/^application\/json/i);
    const document = created.json as Doc;
    expect(
      document,
      "the 201 body must be the new document { id, title, body, version: 1 }, with the id Postgres generated",
    ).toEqual({ id: expect.stringMatching(uuidPattern) as string, title, body: "first draft", version: 1 });
    expect(
      created.headers.get("location"),
      "201 Created must carry a Location header with the path of the new resource: /documents/<id>",
    ).toBe(`/documents/${document.id}`);
    expect(created.headers.get("etag"), 'the new document is version 1, so its ETag is "1"').toBe('"1"');
    expect(
      await storedDocument(document.id),
      "POST must INSERT one row into documents; the row must hold the title, the body and version 1",
    ).toEqual({ id: document.id, title, body: "first draft", version: 1 });

    const read = await send("GET", created.headers.get("location") ?? "/documents/missing-location");
    expect(read.status, `GET on the Location of a new document must answer 200 (${got(read)})`).toBe(200);
    expect(read.json, "GET must return the same document the POST returned").toEqual(document);
    expect(read.headers.get("etag"), 'GET must send the ETag of the current version: "1"').toBe('"1"');
  });

  it("GET answers 200 with the row's ETag, and HEAD sends the same headers without a body", async () => {
    const stored = await insertDocument("read", 7);
    const read = await send("GET", `/documents/${stored.id}`);
    expect(read.status, `GET on an existing document must answer 200 (${got(read)})`).toBe(200);
    expect(read.json, "GET must return the row as { id, title, body, version }, read from Postgres").toEqual(
      stored,
    );
    expect(
      read.headers.get("etag"),
      'the ETag is the row\'s version in double quotes: version 7 is ETag "7" (a strong ETag: no W/ prefix)',
    ).toBe('"7"');

    const head = await send("HEAD", `/documents/${stored.id}`);
    expect(head.status, `HEAD must answer like GET: 200 (${got(head)})`).toBe(200);
    expect(head.headers.get("etag"), "HEAD must carry the same ETag as GET").toBe('"7"');
    expect(head.text, "a HEAD response never has a body").toBe("");
  });

  it("unknown documents and paths answer 404 with a JSON error, including ids that are not UUIDs", async () => {
    const missing = await send("GET", `/documents/${randomUUID()}`);
    expect(missing.status, `a document id that has no row must answer 404 Not Found (${got(missing)})`).toBe(
      404,
    );
    expect(
      missing.headers.get("content-type") ?? "",
      "error responses must be JSON too: Content-Type: application/json with an { error } body",
    ).toMatch(/^application\/json/i);
    expect(
      typeof (missing.json as { error?: unknown } | undefined)?.error,
      "the 404 body must be { error: string }",
    ).toBe("string");

    const malformed = await send("GET", "/documents/not-a-uuid");
    expect(
      malformed.status,
      `an id that is not a UUID names no document: answer 404, not 500. Passing it to Postgres as a uuid fails ` +
        `with "invalid input syntax for type uuid" (${got(malformed)})`,
    ).toBe(404);

    const elsewhere = await send("GET", "/no-such-path");
    expect(elsewhere.status, `a path the API does not serve must answer 404 (${got(elsewhere)})`).toBe(404);
  });

  it("a method a path does not support answers 405 with an Allow header listing the supported ones", async () => {
    const onCollection = await send("DELETE", "/documents");
    expect(onCollection.status, `DELETE /documents is not supported: 405 (${got(onCollection)})`).toBe(405);
    expect(
      headerList(onCollection.headers.get("allow")),
      "a 405 response MUST carry an Allow header with the methods the path does support: /documents allows POST",
    ).toEqual(["POST"]);

    const stored = await insertDocument("patch");
    const onDocument = await send("PATCH", `/documents/${stored.id}`, { json: { title: "patched" } });
    expect(onDocument.status, `PATCH /documents/{id} is not supported: 405 (${got(onDocument)})`).toBe(405);
    expect(
      headerList(onDocument.headers.get("allow")),
      "the Allow header of /documents/{id} must list GET, HEAD, PUT and DELETE",
    ).toEqual(["DELETE", "GET", "HEAD", "PUT"]);
    expect(await storedDocument(stored.id), "a refused PATCH must not change the row").toEqual(stored);
  });
});
