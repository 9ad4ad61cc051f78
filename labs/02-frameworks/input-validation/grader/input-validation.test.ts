import { expect, it } from "vitest";
import { postgres, task } from "@backend-labs/graders";
import {
  MAX_BODY_BYTES,
  memberCount,
  membersByEmail,
  pointersOf,
  postBytes,
  postEndlessBody,
  postMember,
  type Problem,
  type Reply,
  uniqueEmail,
} from "./helpers.ts";

const json = { "content-type": "application/json" };

/** The checks every problem response shares. */
function expectProblem(reply: Reply, status: number, what: string): void {
  expect(
    reply.status,
    `${what} must be answered with ${status} (got ${reply.status}: ${reply.text.slice(0, 200)})`,
  ).toBe(status);
  expect(
    reply.contentType.split(";")[0]?.trim(),
    `${what}: an error body is a problem document (RFC 9457) with Content-Type application/problem+json`,
  ).toBe("application/problem+json");
  const problem = reply.body as Problem;
  expect(problem.status, `${what}: the problem's "status" member repeats the HTTP status`).toBe(status);
  expect(typeof problem.title, `${what}: the problem needs a "title" string saying what went wrong`).toBe(
    "string",
  );
}

function validMember(label: string): { email: string; displayName: string } {
  return { email: uniqueEmail(label), displayName: "Ada Lovelace" };
}

task(1, "Store valid members, normalised", () => {
  it("a valid member is stored trimmed, with a lower-cased email and NFC text, and returned with 201 and Location", async () => {
    const email = uniqueEmail("ada.lovelace");
    const reply = await postMember({
      email: `  ${email.toUpperCase()} `,
      // "e" followed by U+0308 COMBINING DIAERESIS: how some keyboards and macOS file names send "ë".
      displayName: "  Zoe\u0308 Lovelace\t",
      age: 36,
      bio: "  Cafe\u0301 owner.\nLikes engines.  ",
      tags: [" Maths ", "ENGINES"],
    });
    expect(
      reply.status,
      `a valid member must be created with 201 (got ${reply.status}: ${reply.text.slice(0, 200)})`,
    ).toBe(201);
    const expected = {
      email,
      displayName: "Zo\u00eb Lovelace",
      age: 36,
      bio: "Caf\u00e9 owner.\nLikes engines.",
      tags: ["maths", "engines"],
    };
    const created = reply.body as Record<string, unknown>;
    expect(created, "the 201 body is the stored member: { id, email, displayName, age, bio, tags }").toEqual({
      id: expect.any(Number) as unknown,
      ...expected,
    });
    expect(reply.headers.get("location"), "a 201 names the new resource: Location: /members/<id>").toBe(
      `/members/${String(created.id)}`,
    );

    const rows = await membersByEmail(email);
    expect(rows.length, `exactly one row must be stored for ${email}`).toBe(1);
    const row = rows[0];
    expect(row?.id, "the id in the body is the row's id").toBe(created.id);
    expect(
      row?.email,
      "the email must be stored trimmed and lower-cased: Ada@Example.com and ada@example.com are one mailbox " +
        "to your users, and the unique index only sees that if they are stored alike",
    ).toBe(email);
    expect(
      row?.display_name,
      'display_name must be trimmed and in Unicode NFC (text.normalize("NFC")): "e" + U+0308 and "ë" look the ' +
        "same but compare, search and count differently unless stored in one form",
    ).toBe("Zo\u00eb Lovelace");
    expect(row?.bio, "bio is trimmed and NFC too, and keeps its line break").toBe(
      "Caf\u00e9 owner.\nLikes engines.",
    );
    expect(row?.tags, "each tag is trimmed and lower-cased").toEqual(["maths", "engines"]);

    const minimal = validMember("minimal");
    const bare = await postMember(minimal);
    expect(bare.status, "email and displayName alone make a valid member").toBe(201);
    expect(bare.body, "fields left out are stored as age null, bio empty and tags empty").toMatchObject({
      email: minimal.email,
      displayName: "Ada Lovelace",
      age: null,
      bio: "",
      tags: [],
    });
  });

  it("length limits count characters after normalising: 50 fit however they are typed, 51 do not", async () => {
    const fits = [
      { name: "\u00e9".repeat(50), what: "50 precomposed é" },
      { name: "e\u0301".repeat(50), what: "50 é typed as e + U+0301, 100 code points until NFC joins them" },
      { name: "\u{1F600}".repeat(50), what: "50 emoji, which are 100 UTF-16 units in JavaScript's .length" },
      { name: `   ${"a".repeat(50)}   `, what: "50 letters with spaces around them, trimmed first" },
    ];
    for (const { name, what } of fits) {
      const email = uniqueEmail("length");
      const reply = await postMember({ email, displayName: name });
      expect(
        reply.status,
        `displayName = ${what} must be accepted (got ${reply.status}): count characters (code points, e.g. ` +
          "[...text].length) after trimming and NFC, the way Postgres's varchar(50) counts them",
      ).toBe(201);
      const [row] = await membersByEmail(email);
      expect([...(row?.display_name ?? "")].length, `${what}: 50 characters are stored`).toBe(50);
    }

    const tooLong = await postMember({ email: uniqueEmail("length"), displayName: "\u00e9".repeat(51) });
    expectProblem(tooLong, 400, "a displayName of 51 characters");
    expect(pointersOf(tooLong), "the 51-character displayName is reported at /displayName").toEqual([
      "/displayName",
    ]);
  });

  it("the same email in other letter case or with spaces is a duplicate: 409 problem+json, one row", async () => {
    const email = uniqueEmail("grace");
    const first = await postMember({ email: email.replace("grace", "Grace"), displayName: "Grace Hopper" });
    expect(first.status, "the first registration succeeds").toBe(201);

    const second = await postMember({ email: `  ${email.toUpperCase()}  `, displayName: "Grace H." });
    expectProblem(second, 409, "registering an email that exists, in other letter case");
    expect(pointersOf(second), "the conflict is about /email").toEqual(["/email"]);
    expect(
      (await membersByEmail(email)).length,
      `one mailbox, one member: normalise the email before the INSERT, so the unique index sees the duplicate`,
    ).toBe(1);
  });
});

task(2, "Reject invalid input, listing every problem", () => {
  it("every invalid field of one request is reported by JSON pointer in a 400 problem+json, and nothing is stored", async () => {
    const before = await memberCount();
    const reply = await postMember({
      email: "not-an-email",
      displayName: "     ",
      age: 12,
      bio: "x".repeat(501),
      tags: ["ok", 7, "  ", "t".repeat(21)],
      role: "admin",
      "x/y~z": true,
    });
    expectProblem(reply, 400, "a body with nine problems");
    const expected = [
      "/age",
      "/bio",
      "/displayName",
      "/email",
      "/role",
      "/tags/1",
      "/tags/2",
      "/tags/3",
      "/x~1y~0z",
    ];
    const got = pointersOf(reply);
    expect(got, 'the problem must have an "errors" array of { pointer, detail }').toBeDefined();
    const missing = expected.filter((pointer) => !got?.includes(pointer));
    expect(
      missing,
      `problems not reported: ${missing.join(", ")}. Check every field and report them all at once, so a client ` +
        "fixes its request in one round trip. Unknown fields (role, x/y~z) are errors too: silently accepting them " +
        'invites mass assignment and hides typos. A key\'s pointer escapes "~" as ~0 and "/" as ~1 (RFC 6901)',
    ).toEqual([]);
    expect(got, "exactly these nine pointers, one error each").toEqual(expected);
    for (const error of (reply.body as Problem).errors ?? []) {
      expect(
        typeof error.detail === "string" && error.detail.length > 0,
        `the error at ${String(error.pointer)} needs a "detail" saying what is wrong`,
      ).toBe(true);
    }
    expect(await memberCount(), "a rejected request must not store anything").toBe(before);
  });

  it("values of the wrong type are refused, never converted", async () => {
    const cases: { field: string; value: unknown }[] = [
      { field: "age", value: "42" },
      { field: "age", value: 30.5 },
      { field: "age", value: true },
      { field: "displayName", value: 42 },
      { field: "email", value: ["someone@example.com"] },
      { field: "tags", value: "maths,engines" },
    ];
    for (const { field, value } of cases) {
      const reply = await postMember({ ...validMember("types"), [field]: value });
      expectProblem(reply, 400, `${field}: ${JSON.stringify(value)}`);
      expect(
        pointersOf(reply),
        `${field}: ${JSON.stringify(value)} is the wrong type and must be reported at /${field}, not converted ` +
          '(Number("42"), String(42)): a client that sends the wrong type has a bug it needs to hear about',
      ).toEqual([`/${field}`]);
    }
  });

  it("missing required fields and control characters are reported where they belong", async () => {
    const empty = await postMember({});
    expectProblem(empty, 400, "an empty object");
    expect(pointersOf(empty), "both required fields are missing: /displayName and /email").toEqual([
      "/displayName",
      "/email",
    ]);

    const nul = await postMember({ ...validMember("nul"), displayName: "Ada\u0000" });
    expect(
      nul.status,
      "a displayName with U+0000 must be a 400, not a 500: Postgres refuses NUL in text, so unchecked it " +
        "becomes a server error. Refuse control characters in names",
    ).toBe(400);
    expect(pointersOf(nul), "the control character is reported at /displayName").toEqual(["/displayName"]);
  });

  it('a body that is not JSON, or not a JSON object, is a 400 problem with the pointer "" (the whole body)', async () => {
    for (const [body, what] of [
      ['{"email": "a@example.com", ', "truncated JSON"],
      ["[1, 2]", "a JSON array"],
      ["null", "JSON null"],
      ['"ada@example.com"', "a JSON string"],
    ] as const) {
      const reply = await postMember(body, json);
      expectProblem(reply, 400, `a body that is ${what}`);
      expect(pointersOf(reply), `${what}: the error points at the whole body, the pointer ""`).toEqual([""]);
    }
  });
});

task(3, "Guard the boundary: Content-Type and body size", () => {
  it("a body not declared as application/json gets 415, while parameters and letter case are fine", async () => {
    const before = await memberCount();
    for (const [headers, what] of [
      [{ "content-type": "text/plain" }, "text/plain"],
      [{ "content-type": "application/x-www-form-urlencoded" }, "a form"],
      [{}, "no Content-Type at all"],
    ] as const) {
      const body = new TextEncoder().encode(JSON.stringify(validMember("type")));
      const reply = await postMember(body, headers);
      expectProblem(
        reply,
        415,
        `a JSON body sent as ${what} (browsers send text/plain and form bodies cross-site without a CORS ` +
          "preflight, so accepting them lets any web page post here with the user's cookies)",
      );
    }
    expect(await memberCount(), "nothing may be stored from a 415").toBe(before);

    const reply = await postMember(validMember("charset"), {
      "content-type": "Application/JSON; charset=UTF-8",
    });
    expect(
      reply.status,
      "Content-Type: Application/JSON; charset=UTF-8 is application/json: media types are case-insensitive and " +
        "may carry parameters",
    ).toBe(201);
  });

  it(`a body of exactly ${MAX_BODY_BYTES} bytes is accepted; one byte more gets 413`, async () => {
    const padded = (label: string, bytes: number) => {
      const text = JSON.stringify(validMember(label));
      return Buffer.from(text + " ".repeat(bytes - Buffer.byteLength(text)));
    };
    const atLimit = await postBytes(json, padded("limit", MAX_BODY_BYTES));
    expect(
      atLimit.reply?.status,
      `a body of exactly ${MAX_BODY_BYTES} bytes (JSON padded with spaces) is within the limit and must be accepted`,
    ).toBe(201);

    const before = await memberCount();
    const over = await postBytes(json, padded("over", MAX_BODY_BYTES + 1));
    expect(over.reply?.status, `a body of ${MAX_BODY_BYTES + 1} bytes must get 413 Content Too Large`).toBe(
      413,
    );
    expect(
      over.reply?.headers["content-type"]?.split(";")[0],
      "the 413 is a problem document too (application/problem+json)",
    ).toBe("application/problem+json");
    expect(await memberCount(), "nothing may be stored from a 413").toBe(before);
  });

  it("a declared Content-Length over the limit gets 413 at once, before the body has arrived", async () => {
    const outcome = await postEndlessBody(
      { ...json, "content-length": String(50 * 1024 * 1024) },
      Buffer.from(" ".repeat(1024)),
    );
    expect(
      outcome.reply?.status,
      `the client announced 50 MiB and sent ${outcome.sentBytes} bytes of it in ${outcome.elapsedMs} ms ` +
        `without an answer: refuse a Content-Length over ${MAX_BODY_BYTES} before reading the body. A server ` +
        "that reads (or buffers) everything first lets one client tie it up, or fill its memory",
    ).toBe(413);
    expect(
      outcome.reply?.headers.connection,
      "after a 413 the rest of the body is not read: send Connection: close so the client stops sending it",
    ).toBe("close");
  });

  it("a chunked body gets 413 as soon as it passes the limit, while it is still arriving", async () => {
    const outcome = await postEndlessBody(json, Buffer.from(" ".repeat(1024)));
    expect(
      outcome.reply?.status,
      `a chunked body (no Content-Length) kept coming: ${outcome.sentBytes} bytes in ${outcome.elapsedMs} ms ` +
        `and no answer. Count the bytes as the chunks arrive and answer 413 once they pass ${MAX_BODY_BYTES}, ` +
        "instead of waiting for the end of a body that may never end",
    ).toBe(413);
  });
});

task(4, "Keep SQL and data apart", () => {
  it("quotes and SQL in the input are stored literally, and the table survives", async () => {
    const before = await memberCount();
    const email = `o'brien.${uniqueEmail("x").split("@")[0]}@example.com`;
    const member = {
      email,
      displayName: "Robert'); DROP TABLE members;--",
      bio: `He said "it's fine"; DELETE FROM members WHERE '1' = '1'; -- $1 \\ %`,
      tags: ["o'brien", "--"],
    };
    const reply = await postMember(member);
    expect(
      reply.status,
      `a name with quotes and SQL in it is a valid name and must be stored (got ${reply.status}: ` +
        `${reply.text.slice(0, 120)}). A 500 here usually means the value was pasted into the SQL text: pass ` +
        "every value as a parameter ($1, $2, ...)",
    ).toBe(201);
    const { rows } = await postgres().query<{ regclass: string | null }>(
      "SELECT to_regclass('public.members')::text AS regclass",
    );
    expect(rows[0]?.regclass, "the members table must still exist").toBe("members");
    const [row] = await membersByEmail(email);
    expect(
      row && { email: row.email, displayName: row.display_name, bio: row.bio, tags: row.tags },
      "every value must be stored exactly as sent, quotes, semicolons and SQL included",
    ).toEqual(member);
    expect(await memberCount(), "no row may have been deleted: one more member than before").toBe(before + 1);
  });
});
