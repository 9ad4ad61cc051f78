import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import {
  countWithTitle,
  expectJsonError,
  got,
  insertDocument,
  send,
  storedDocument,
  uid,
} from "./helpers.ts";

task(2, "Refuse request bodies the API cannot accept", () => {
  it("a body that is not labelled application/json answers 415 and writes nothing; a charset parameter is fine", async () => {
    const title = uid("media-type");
    const valid = JSON.stringify({ title, body: "text" });

    const plain = await send("POST", "/documents", { raw: valid, headers: { "content-type": "text/plain" } });
    expect(
      plain.status,
      `a body sent as text/plain must answer 415 Unsupported Media Type, even when it happens to parse as JSON: ` +
        `check the Content-Type header before reading the body (${got(plain)})`,
    ).toBe(415);
    expectJsonError(plain, "the 415 for a text/plain body");
    const form = await send("POST", "/documents", {
      raw: `title=${title}&body=text`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(form.status, `a form-encoded body must answer 415 (${got(form)})`).toBe(415);
    const unlabelled = await send("POST", "/documents", { unlabelled: valid });
    expect(
      unlabelled.status,
      `a POST with no Content-Type header must answer 415: the README counts a missing header as "other than ` +
        `application/json", so do not assume JSON when the client did not say so (${got(unlabelled)})`,
    ).toBe(415);
    const lookalike = await send("POST", "/documents", {
      raw: valid,
      headers: { "content-type": "application/json-seq" },
    });
    expect(
      lookalike.status,
      `application/json-seq is another media type that only starts like application/json: answer 415. Compare ` +
        `the whole media type (the part before any ";"), not its first characters (${got(lookalike)})`,
    ).toBe(415);
    expect(await countWithTitle(title), "a request answered 415 must not insert a row").toBe(0);

    const withCharset = await send("POST", "/documents", {
      raw: valid,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
    expect(
      withCharset.status,
      `"application/json; charset=utf-8" is JSON: compare the media type before the ";" (${got(withCharset)})`,
    ).toBe(201);
    expect(await countWithTitle(title), "the JSON request must insert exactly one row").toBe(1);
  });

  it("a PUT whose body is not labelled application/json answers 415 and leaves the row as it was", async () => {
    const stored = await insertDocument("put-media-type");
    const valid = JSON.stringify({ title: "replaced", body: "text" });
    const plain = await send("PUT", `/documents/${stored.id}`, {
      raw: valid,
      headers: { "content-type": "text/plain", "if-match": '"1"' },
    });
    expect(
      plain.status,
      `PUT takes a JSON body just like POST: a text/plain body must answer 415 on PUT too (${got(plain)})`,
    ).toBe(415);
    const unlabelled = await send("PUT", `/documents/${stored.id}`, {
      unlabelled: valid,
      headers: { "if-match": '"1"' },
    });
    expect(
      unlabelled.status,
      `a PUT with no Content-Type header must answer 415, like a POST (${got(unlabelled)})`,
    ).toBe(415);
    expect(await storedDocument(stored.id), "a PUT answered 415 must not touch the row").toEqual(stored);
  });

  it("malformed JSON and bodies that are not { title, body } answer 400 and write nothing", async () => {
    const title = uid("bad-body");
    const cases: { what: string; raw: string }[] = [
      { what: "truncated JSON", raw: `{"title": "${title}", "body": "te` },
      { what: "an empty body", raw: "" },
      { what: "a JSON array", raw: JSON.stringify([title, "text"]) },
      { what: "JSON null", raw: "null" },
      { what: "a JSON string", raw: JSON.stringify(title) },
      { what: "a missing body field", raw: JSON.stringify({ title }) },
      { what: "a missing title field", raw: JSON.stringify({ body: title }) },
      { what: "a numeric title", raw: JSON.stringify({ title: 42, body: title }) },
      { what: "a numeric body", raw: JSON.stringify({ title, body: 5 }) },
      { what: "a null body", raw: JSON.stringify({ title, body: null }) },
      { what: "an object as body", raw: JSON.stringify({ title, body: { text: "x" } }) },
      { what: "an empty title", raw: JSON.stringify({ title: "", body: title }) },
      { what: "a title of 201 characters", raw: JSON.stringify({ title: "t".repeat(201), body: title }) },
    ];
    for (const { what, raw } of cases) {
      const reply = await send("POST", "/documents", {
        raw,
        headers: { "content-type": "application/json" },
      });
      expect(
        reply.status,
        `POST /documents with ${what} must answer 400 Bad Request: the README takes { "title": string of 1 to 200 ` +
          `characters, "body": string } and nothing else. A JSON.parse or database error that escapes as 500 tells ` +
          `the client the server is broken, and a 201 stores what the client never meant (${got(reply)})`,
      ).toBe(400);
      expectJsonError(reply, `the 400 for ${what}`);
    }
    expect(await countWithTitle(title), "no request answered 400 may insert a row").toBe(0);
  });

  it("a PUT with a malformed body or one that is not { title, body } answers 400 and leaves the row as it was", async () => {
    const stored = await insertDocument("bad-put");
    const cases: { what: string; raw: string }[] = [
      { what: "malformed JSON", raw: '{"title": "half a' },
      { what: "JSON null", raw: "null" },
      { what: "a numeric body", raw: JSON.stringify({ title: "numeric body", body: 5 }) },
      { what: "an empty title", raw: JSON.stringify({ title: "", body: "empty title" }) },
      { what: "a title of 201 characters", raw: JSON.stringify({ title: "t".repeat(201), body: "long" }) },
    ];
    for (const { what, raw } of cases) {
      const reply = await send("PUT", `/documents/${stored.id}`, {
        raw,
        headers: { "content-type": "application/json", "if-match": '"1"' },
      });
      expect(
        reply.status,
        `PUT with ${what} must answer 400: PUT takes the same { title, body } as POST and must check it the same ` +
          `way (${got(reply)})`,
      ).toBe(400);
    }
    expect(await storedDocument(stored.id), "a PUT answered 400 must not touch the row").toEqual(stored);
  });

  it("titles of exactly 1 and 200 characters are accepted by POST and PUT", async () => {
    const longest = `${uid("edge")}-`.padEnd(200, "t");
    const created = await send("POST", "/documents", { json: { title: longest, body: "" } });
    expect(
      created.status,
      `a title of exactly 200 characters is allowed ("1 to 200 characters" includes 200): POST must answer 201` +
        `${created.status === 400 ? ". Refuse length > 200, not >= 200" : ""} (${got(created)})`,
    ).toBe(201);
    expect(await countWithTitle(longest), "the 200-character title must be stored as sent").toBe(1);

    const stored = await insertDocument("edge-put");
    const shortest = await send("PUT", `/documents/${stored.id}`, {
      json: { title: "a", body: "one character" },
      headers: { "if-match": '"1"' },
    });
    expect(shortest.status, `a title of 1 character is allowed: PUT must answer 200 (${got(shortest)})`).toBe(
      200,
    );
    const longestPut = await send("PUT", `/documents/${stored.id}`, {
      json: { title: "p".repeat(200), body: "two hundred" },
      headers: { "if-match": '"2"' },
    });
    expect(
      longestPut.status,
      `a title of exactly 200 characters is allowed: PUT must answer 200` +
        `${longestPut.status === 400 ? ". Refuse length > 200, not >= 200" : ""} (${got(longestPut)})`,
    ).toBe(200);
    expect(
      await storedDocument(stored.id),
      "after both PUTs the row must hold the 200-character title at version 3",
    ).toEqual({ id: stored.id, title: "p".repeat(200), body: "two hundred", version: 3 });
  });
});
