import { expect, it } from "vitest";
import { task } from "@backend-labs/graders";
import { countWithTitle, got, insertDocument, send, storedDocument, uid } from "./helpers.ts";

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
    const form = await send("POST", "/documents", {
      raw: `title=${title}&body=text`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(form.status, `a form-encoded body must answer 415 (${got(form)})`).toBe(415);
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

  it("malformed JSON and bodies that are not { title, body } answer 400 and write nothing", async () => {
    const title = uid("bad-body");
    const cases: { what: string; raw: string }[] = [
      { what: "truncated JSON", raw: `{"title": "${title}", "body": "te` },
      { what: "an empty body", raw: "" },
      { what: "a JSON array", raw: JSON.stringify([title, "text"]) },
      { what: "a missing body field", raw: JSON.stringify({ title }) },
      { what: "a numeric title", raw: JSON.stringify({ title: 42, body: "text" }) },
      { what: "an empty title", raw: JSON.stringify({ title: "", body: "text" }) },
      { what: "a title of 201 characters", raw: JSON.stringify({ title: "t".repeat(201), body: "text" }) },
    ];
    for (const { what, raw } of cases) {
      const reply = await send("POST", "/documents", {
        raw,
        headers: { "content-type": "application/json" },
      });
      expect(
        reply.status,
        `POST /documents with ${what} must answer 400 Bad Request: the client sent something the API cannot ` +
          `use. A JSON.parse or database error that escapes as 500 tells the client the server is broken (${got(reply)})`,
      ).toBe(400);
      expect(
        typeof (reply.json as { error?: unknown } | undefined)?.error,
        `the 400 for ${what} must explain the problem in a JSON body { error: string }`,
      ).toBe("string");
    }
    expect(await countWithTitle(title), "no request answered 400 may insert a row").toBe(0);
  });

  it("a PUT with a malformed body answers 400 and leaves the row as it was", async () => {
    const stored = await insertDocument("bad-put");
    const reply = await send("PUT", `/documents/${stored.id}`, {
      raw: '{"title": "half a',
      headers: { "content-type": "application/json", "if-match": '"1"' },
    });
    expect(reply.status, `PUT with malformed JSON must answer 400 (${got(reply)})`).toBe(400);
    expect(await storedDocument(stored.id), "a PUT answered 400 must not touch the row").toEqual(stored);
  });
});
