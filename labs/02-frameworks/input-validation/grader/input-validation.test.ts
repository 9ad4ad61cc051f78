import { expect, it } from "vitest";
import { got, lockWaiters, postgres, task, uid, waitFor } from "@backend-labs/graders";
import {
  MAX_BODY_BYTES,
  memberCount,
  membersByEmail,
  pointersOf,
  postBytes,
  postEndlessBody,
  postMember,
  type Problem,
  type RawOutcome,
  type Reply,
  uniqueEmail,
} from "./helpers.ts";

const json = { "content-type": "application/json" };

/** The checks every problem response shares. */
function expectProblem(reply: Reply, status: number, what: string): void {
  expect(reply.status, `${what} must be answered with ${status} (${got(reply, 200)})`).toBe(status);
  expect(
    reply.contentType.split(";")[0]?.trim(),
    `${what}: an error body is a problem document (RFC 9457) with Content-Type application/problem+json`,
  ).toBe("application/problem+json");
  expect(
    typeof reply.body === "object" && reply.body !== null && !Array.isArray(reply.body),
    `${what}: the body must be a JSON object, the problem document (got ${reply.text.slice(0, 120) || "an empty body"})`,
  ).toBe(true);
  const problem = reply.body as Problem;
  expect(problem.status, `${what}: the problem's "status" member repeats the HTTP status`).toBe(status);
  expect(
    typeof problem.title === "string" && problem.title.trim() !== ""
      ? "a title"
      : `title ${JSON.stringify(problem.title) ?? "missing"}`,
    `${what}: the problem needs a non-empty "title" string saying what went wrong`,
  ).toBe("a title");
}

/** Every entry of a problem's `errors` needs a non-empty `detail` string. */
function expectDetails(reply: Reply, what: string): void {
  for (const error of (reply.body as Problem).errors ?? []) {
    expect(
      typeof error.detail === "string" && error.detail.trim() !== ""
        ? "a detail"
        : `detail ${JSON.stringify(error.detail) ?? "missing"}`,
      `${what}: the error at ${JSON.stringify(error.pointer)} needs a non-empty "detail" string saying what is wrong there`,
    ).toBe("a detail");
  }
}

/** A 400 (or 409) problem whose `errors` list exactly these pointers. */
function expectPointers(reply: Reply, expected: string[], message: string): void {
  const pointers = pointersOf(reply);
  expect(
    pointers ? "an errors array" : "no errors array",
    `the problem must have an "errors" array of { pointer, detail } (${got(reply, 200)})`,
  ).toBe("an errors array");
  expect(pointers, message).toEqual([...expected].sort());
  expectDetails(reply, message);
}

function validMember(label: string): { email: string; displayName: string } {
  return { email: uniqueEmail(label), displayName: "Ada Lovelace" };
}

/** POSTs a member that must be created, and returns its stored row. */
async function expectCreated(member: Record<string, unknown>, why: string) {
  const reply = await postMember(member);
  expect(reply.status, `${why} (${got(reply, 200)})`).toBe(201);
  const [row] = await membersByEmail(String(member.email));
  expect(
    row ? "a row" : "no row",
    `a 201 was sent for ${String(member.email)}, but members has no row with that email`,
  ).toBe("a row");
  return row!;
}

/** The answer of a raw request, which must have arrived. */
function answered(outcome: RawOutcome, what: string) {
  expect(
    outcome.reply ? "an answer" : `no answer within ${outcome.elapsedMs} ms`,
    `${what} (${outcome.sentBytes} bytes of body were sent)`,
  ).toBe("an answer");
  return outcome.reply!;
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
      tags: [" Maths ", "ENGINES", "Cafe\u0301"],
    });
    expect(reply.status, `a valid member must be created with 201 (${got(reply, 200)})`).toBe(201);
    expect(
      reply.contentType.split(";")[0]?.trim().toLowerCase() || "(no Content-Type)",
      "the 201 answers the stored member as JSON: send it with Content-Type: application/json",
    ).toBe("application/json");
    const expected = {
      email,
      displayName: "Zo\u00eb Lovelace",
      age: 36,
      bio: "Caf\u00e9 owner.\nLikes engines.",
      tags: ["maths", "engines", "caf\u00e9"],
    };
    const created = reply.body as Record<string, unknown>;
    expect(created, "the 201 body is the stored member: { id, email, displayName, age, bio, tags }").toEqual({
      id: expect.any(Number) as unknown,
      ...expected,
    });
    expect(
      reply.headers.get("location") ?? "(no Location header)",
      "a 201 names the new resource: Location: /members/<id>",
    ).toBe(`/members/${String(created.id)}`);

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
    expect(
      row?.tags,
      'each tag is trimmed, lower-cased and in NFC: " Maths " is stored as "maths", and "Cafe" + U+0301 as "café"',
    ).toEqual(["maths", "engines", "caf\u00e9"]);

    const minimal = validMember("minimal");
    const bare = await postMember(minimal);
    expect(bare.status, `email and displayName alone make a valid member (${got(bare, 200)})`).toBe(201);
    expect(bare.body, "fields left out are stored as age null, bio empty and tags empty").toMatchObject({
      email: minimal.email,
      displayName: "Ada Lovelace",
      age: null,
      bio: "",
      tags: [],
    });
  });

  it("the email is NFC-normalised like the other text", async () => {
    const local = uid("jose").replace("-", ".");
    const row = await expectCreated(
      { email: `Jose\u0301.${local}@Example.com`, displayName: "Jos\u00e9" },
      'an email with "e" + U+0301 in it is a valid email',
    );
    expect(
      row.email,
      'the email must be stored trimmed, NFC and lower-cased: "Jose" + U+0301 is stored as "josé", so the same ' +
        "address typed on two keyboards is one member",
    ).toBe(`jos\u00e9.${local}@example.com`);
  });

  it("optional fields sent as null are stored as age null, bio empty and tags empty", async () => {
    const member = { ...validMember("nulls"), age: null, bio: null, tags: null };
    const reply = await postMember(member);
    expect(
      reply.status,
      `age, bio and tags sent as null must be accepted like fields left out: an optional field may be null (${got(reply, 200)})`,
    ).toBe(201);
    const [row] = await membersByEmail(member.email);
    expect(
      row && { age: row.age, bio: row.bio, tags: row.tags },
      "null optional fields are stored as age null, bio '' and tags {}",
    ).toEqual({ age: null, bio: "", tags: [] });
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
        `displayName = ${what} must be accepted (${got(reply, 200)}): count characters (code points, e.g. ` +
          "[...text].length) after trimming and NFC, the way Postgres's varchar(50) counts them",
      ).toBe(201);
      const [row] = await membersByEmail(email);
      expect([...(row?.display_name ?? "")].length, `${what}: 50 characters are stored`).toBe(50);
    }

    const tooLong = await postMember({ email: uniqueEmail("length"), displayName: "\u00e9".repeat(51) });
    expectProblem(tooLong, 400, "a displayName of 51 characters");
    expectPointers(tooLong, ["/displayName"], "the 51-character displayName is reported at /displayName");
  });

  it("bio and tags count characters too: 500 emoji fit in bio, 20 in a tag", async () => {
    const member = {
      ...validMember("emoji"),
      bio: "\u{1F600}".repeat(500),
      tags: ["\u{1F680}".repeat(20), "e\u0301".repeat(20)],
    };
    const reply = await postMember(member);
    expect(
      reply.status,
      "a bio of 500 emoji (1000 UTF-16 units) and tags of 20 emoji or 20 é typed as e + U+0301 fit their limits " +
        `and must be accepted (${got(reply, 200)}): count code points ([...text].length) after NFC, as ` +
        "varchar(n) does, not .length",
    ).toBe(201);
    const [row] = await membersByEmail(member.email);
    expect(row && [...row.bio].length, "the 500-emoji bio is stored whole").toBe(500);
  });

  it("the boundaries are inclusive: age 13 and 130, a 1-character name, a 254-character email, 5 tags of 20 characters", async () => {
    const cases: { member: Record<string, unknown>; what: string }[] = [
      { member: { ...validMember("age13"), age: 13 }, what: "age 13, the youngest allowed" },
      { member: { ...validMember("age130"), age: 130 }, what: "age 130, the oldest allowed" },
      { member: { ...validMember("short"), displayName: "A" }, what: "a displayName of 1 character" },
      {
        member: { ...validMember("tags5"), tags: ["a", "b", "c", "d", "t".repeat(20)] },
        what: "5 tags, the last of 20 characters",
      },
      {
        member: { ...validMember("bio500"), bio: "b".repeat(500) },
        what: "a bio of 500 characters",
      },
    ];
    const longEmail = uniqueEmail("long");
    cases.push({
      member: { email: "x".repeat(254 - longEmail.length) + longEmail, displayName: "Long Email" },
      what: "an email of 254 characters",
    });
    for (const { member, what } of cases) {
      const reply = await postMember(member);
      expect(
        reply.status,
        `${what} is within the rules (the ranges include both ends) and must be accepted (${got(reply, 200)})`,
      ).toBe(201);
    }
  });

  it("the same email in other letter case or with spaces is a duplicate: 409 problem+json, one row", async () => {
    const email = uniqueEmail("grace");
    const first = await postMember({ email: email.replace("grace", "Grace"), displayName: "Grace Hopper" });
    expect(first.status, `the first registration succeeds (${got(first, 200)})`).toBe(201);

    const second = await postMember({ email: `  ${email.toUpperCase()}  `, displayName: "Grace H." });
    expectProblem(second, 409, "registering an email that exists, in other letter case");
    expectPointers(second, ["/email"], "the conflict is about /email");
    expect(
      (await membersByEmail(email)).length,
      `one mailbox, one member: normalise the email before the INSERT, so the unique index sees the duplicate`,
    ).toBe(1);
  });

  it("concurrent sign-ups with one email: one 201, a 409 for each of the others, one row", async () => {
    const solo = await postMember(validMember("solo"));
    expect(solo.status, `a valid member must be created with 201 (${got(solo, 200)})`).toBe(201);

    const email = uniqueEmail("twins");
    const attempts = 4;
    const lock = await postgres().connect();
    let replies: PromiseSettledResult<Reply>[];
    try {
      await lock.query("BEGIN");
      // Reads go on but INSERTs wait behind this lock, so every request gets past any "is this email
      // taken?" SELECT before the first INSERT runs: the race of two people signing up at once, every time.
      await lock.query("LOCK TABLE members IN SHARE MODE");
      const pending = Promise.allSettled(
        Array.from({ length: attempts }, (_, index) =>
          postMember({ email: index % 2 ? email.toUpperCase() : email, displayName: `Twin ${index}` }),
        ),
      );
      await waitFor(async () => (await lockWaiters()) >= attempts, 5_000);
      await lock.query("COMMIT");
      replies = await pending;
    } finally {
      lock.release();
    }
    const statuses = replies.map((outcome) =>
      outcome.status === "fulfilled" ? outcome.value.status : "no answer",
    );
    const failed = replies.flatMap((outcome) =>
      outcome.status === "fulfilled" && outcome.value.status >= 500 ? [got(outcome.value, 200)] : [],
    );
    expect(
      failed.length,
      `${attempts} sign-ups with one email at the same moment (got ${statuses.join(", ")}; ${failed[0] ?? ""}): ` +
        "the duplicates must get 409, not a server error. Checking with a SELECT first and then inserting " +
        "races: every request sees the email free, and the later INSERTs hit the unique index. Let the INSERT " +
        "decide (INSERT ... ON CONFLICT (email) DO NOTHING, or catch the unique violation, code 23505) and " +
        "answer 409",
    ).toBe(0);
    expect(
      statuses.filter((status) => status !== 201 && status !== 409),
      `${attempts} sign-ups with one email at the same moment must each get 201 or 409 (got ${statuses.join(", ")})`,
    ).toEqual([]);
    expect(statuses.filter((status) => status === 201).length, "exactly one of them is created").toBe(1);
    expect((await membersByEmail(email)).length, "one row for the email").toBe(1);
  });

  it("a database error other than a duplicate email is a 500 problem, never a 409", async () => {
    const member = validMember("diskfull");
    const db = postgres();
    // A trigger makes the INSERT of this one email fail the way a full disk does (SQLSTATE 53100).
    await db.query(`CREATE OR REPLACE FUNCTION grader_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$`);
    await db.query(`CREATE TRIGGER grader_disk_full BEFORE INSERT ON members FOR EACH ROW
      WHEN (NEW.email = '${member.email}') EXECUTE FUNCTION grader_disk_full()`);
    let reply: Reply;
    try {
      reply = await postMember(member);
    } finally {
      await db.query("DROP TRIGGER IF EXISTS grader_disk_full ON members");
      await db.query("DROP FUNCTION IF EXISTS grader_disk_full()");
    }
    expect(
      reply.status,
      "the INSERT failed with disk_full (SQLSTATE 53100), not with a unique violation: only the unique violation " +
        "(23505, or no row from ON CONFLICT DO NOTHING) means the email is taken. Answering every database error " +
        "with 409 tells a client the email is registered when it is not; any other error is a 500 " +
        `(${got(reply, 200)})`,
    ).toBe(500);
    expectProblem(reply, 500, "a sign-up whose INSERT failed for a reason other than a duplicate email");
  });
});

/** Why a pointer may be missing from a problem, for the one kind of check it names. */
function whyMissing(pointer: string): string {
  if (pointer === "/role")
    return "/role: a field the API does not know must be reported, not ignored (mass assignment)";
  if (pointer === "/x~1y~0z")
    return '/x~1y~0z: the unknown key "x/y~z", whose pointer escapes "~" as ~0 and "/" as ~1 (RFC 6901)';
  if (pointer.startsWith("/tags/")) return `${pointer}: each invalid item of tags at its own index`;
  return `${pointer}: check this field even when others are already wrong`;
}

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
    const pointers = pointersOf(reply);
    expect(
      pointers ? "an errors array" : "no errors array",
      `the problem must have an "errors" array of { pointer, detail } (${got(reply, 200)})`,
    ).toBe("an errors array");
    const missing = expected.filter((pointer) => !pointers?.includes(pointer));
    expect(
      missing,
      `problems not reported (list every problem at once, so a client fixes its request in one round trip):\n  ` +
        missing.map(whyMissing).join("\n  "),
    ).toEqual([]);
    expect(pointers, "exactly these nine pointers, one error each").toEqual(expected);
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
      { field: "displayName", value: null },
      { field: "email", value: ["someone@example.com"] },
      { field: "bio", value: 42 },
      { field: "tags", value: "maths,engines" },
    ];
    for (const { field, value } of cases) {
      const reply = await postMember({ ...validMember("types"), [field]: value });
      expectProblem(reply, 400, `${field}: ${JSON.stringify(value)}`);
      expectPointers(
        reply,
        [`/${field}`],
        `${field}: ${JSON.stringify(value)} is the wrong type and must be reported at /${field}, not converted ` +
          '(Number("42"), String(42)): a client that sends the wrong type has a bug it needs to hear about',
      );
    }
  });

  it("values out of range are refused: age 131, a 255-character email, an email without a domain, 6 tags", async () => {
    const longEmail = uniqueEmail("long");
    const cases: { member: Record<string, unknown>; field: string; what: string }[] = [
      {
        member: { ...validMember("age131"), age: 131 },
        field: "age",
        what: "age 131 (the range is 13 to 130)",
      },
      {
        member: { email: "x".repeat(255 - longEmail.length) + longEmail, displayName: "Long Email" },
        field: "email",
        what: "an email of 255 characters (at most 254)",
      },
      {
        member: { email: `${uid("nodot")}@example`, displayName: "No Dot" },
        field: "email",
        what: "an email whose domain has no dot (the pattern needs name@domain.tld)",
      },
      {
        member: { email: `${uid("space")} x@example.com`, displayName: "Space" },
        field: "email",
        what: "an email with a space inside it",
      },
      {
        member: { email: `${uid("suffix")}@example.com (work)`, displayName: "Suffix" },
        field: "email",
        what: "an email followed by more text (the pattern is anchored: ^ and $ make it match the whole string)",
      },
    ];
    for (const { member, field, what } of cases) {
      const reply = await postMember(member);
      expectProblem(reply, 400, what);
      expectPointers(reply, [`/${field}`], `${what}: the problem is reported at /${field}`);
    }

    const six = await postMember({ ...validMember("tags6"), tags: ["a", "b", "c", "d", "e", "f"] });
    expectProblem(six, 400, "6 tags (at most 5 are allowed)");
    const pointers = pointersOf(six) ?? [];
    expect(
      pointers.length > 0 && pointers.every((pointer) => pointer === "/tags" || pointer.startsWith("/tags/")),
      `6 tags: the problem is the number of tags, reported at /tags (got pointers ${JSON.stringify(pointers)})`,
    ).toBe(true);
    expectDetails(six, "6 tags");
  });

  it("missing required fields and control characters are reported where they belong", async () => {
    const empty = await postMember({});
    expectProblem(empty, 400, "an empty object");
    expectPointers(
      empty,
      ["/displayName", "/email"],
      "both required fields are missing: /displayName and /email",
    );
    for (const error of (empty.body as Problem).errors ?? []) {
      expect(
        String(error.detail),
        `${String(error.pointer)} was left out: its detail must say the field is required (or missing), not ` +
          "that its type or value is wrong, so the client knows it forgot to send it",
      ).toMatch(/required|missing/i);
    }

    const nul = await postMember({ ...validMember("nul"), displayName: "Ada\u0000" });
    expect(
      nul.status,
      "a displayName with U+0000 must be a 400, not a 500: Postgres refuses NUL in text, so unchecked it " +
        `becomes a server error. Refuse control characters in names (${got(nul, 200)})`,
    ).toBe(400);
    expectPointers(nul, ["/displayName"], "the control character is reported at /displayName");

    const controlHint =
      "control characters are every code point of \\p{Cc}: U+0000 to U+001F, DEL (U+007F) and U+0080 to U+009F, " +
      "not only those below the space: test with /\\p{Cc}/u";
    const controls: { member: Record<string, unknown>; pointer: string; what: string; hint: string }[] = [
      {
        member: { ...validMember("del"), displayName: "Ada\u007fLovelace" },
        pointer: "/displayName",
        what: "a displayName with DEL (U+007F)",
        hint: controlHint,
      },
      {
        member: { ...validMember("tab"), displayName: "Ada\tLovelace" },
        pointer: "/displayName",
        what: "a displayName with a tab inside it",
        hint: "a tab is a control character, and only bio may hold tabs and line breaks",
      },
      {
        member: { ...validMember("nel"), bio: "one line\u0085and another" },
        pointer: "/bio",
        what: "a bio with NEL (U+0085)",
        hint: `${controlHint}; bio allows only \\n, \\r and \\t`,
      },
      {
        member: { ...validMember("bel"), bio: "ring\u0007ring" },
        pointer: "/bio",
        what: "a bio with BEL (U+0007)",
        hint: "bio allows \\n, \\r and \\t, but no other control character",
      },
      {
        member: { ...validMember("csi"), tags: ["ok", "x\u009by"] },
        pointer: "/tags/1",
        what: "a tag with U+009B",
        hint: controlHint,
      },
      {
        member: { ...validMember("newline"), tags: ["two\nlines"] },
        pointer: "/tags/0",
        what: "a tag with a line break inside it",
        hint: "a line break is a control character, and tags may hold none",
      },
    ];
    for (const { member, pointer, what, hint } of controls) {
      const reply = await postMember(member);
      expect(reply.status, `${what} must be refused with 400: ${hint} (${got(reply, 200)})`).toBe(400);
      expectProblem(reply, 400, what);
      expectPointers(reply, [pointer], `${what} is reported at ${pointer}`);
    }

    const lines = { ...validMember("lines"), bio: "first\r\nsecond\tcolumn" };
    const reply = await postMember(lines);
    expect(
      reply.status,
      `a bio may hold \\n, \\r and \\t, the line breaks and tabs of a multi-line text (${got(reply, 200)})`,
    ).toBe(201);
    const [row] = await membersByEmail(lines.email);
    expect(row?.bio, "the bio's line breaks and tab are stored as sent").toBe("first\r\nsecond\tcolumn");
  });

  it('a body that is not JSON, or not a JSON object, is a 400 problem with the pointer "" (the whole body)', async () => {
    for (const [body, what] of [
      ['{"email": "a@example.com", ', "truncated JSON"],
      ["", "empty"],
      ["[1, 2]", "a JSON array"],
      ["null", "JSON null"],
      ['"ada@example.com"', "a JSON string"],
    ] as const) {
      const reply = await postMember(body, json);
      expectProblem(reply, 400, `a body that is ${what}`);
      expectPointers(reply, [""], `${what}: the error points at the whole body, the pointer ""`);
    }
  });
});

task(3, "Guard the boundary: Content-Type and body size", () => {
  it("a body not declared as application/json gets 415, while parameters and letter case are fine", async () => {
    const before = await memberCount();
    for (const [headers, what] of [
      [{ "content-type": "text/plain" }, "text/plain"],
      [{ "content-type": "application/x-www-form-urlencoded" }, "a form"],
      [{ "content-type": "application/json-patch+json" }, "application/json-patch+json"],
      [{}, "no Content-Type at all"],
    ] as const) {
      const body = new TextEncoder().encode(JSON.stringify(validMember("type")));
      const reply = await postMember(body, headers);
      expectProblem(
        reply,
        415,
        `a JSON body sent as ${what} (only the media type application/json is JSON here; browsers send ` +
          "text/plain and form bodies cross-site without a CORS preflight, so accepting them lets any web page " +
          "post here with the user's cookies)",
      );
    }
    expect(await memberCount(), "nothing may be stored from a 415").toBe(before);

    for (const contentType of [
      "Application/JSON; charset=UTF-8",
      "application/json;charset=utf-8",
      "application/json ; charset=utf-8",
    ]) {
      const reply = await postMember(validMember("charset"), { "content-type": contentType });
      expect(
        reply.status,
        `Content-Type: ${contentType} is application/json: media types are case-insensitive and may carry ` +
          `parameters, with or without spaces around the ";" (${got(reply, 200)})`,
      ).toBe(201);
    }
  });

  it("the 415 comes before the body is read: it arrives while the body is still unfinished", async () => {
    for (const [headers, what] of [
      [{ "content-type": "text/plain", "content-length": "4000" }, "text/plain body announced as 4000 bytes"],
      [{ "content-type": "text/plain" }, "chunked text/plain body"],
    ] as const) {
      const start = Buffer.from('{"email": "someone@example.com", ');
      const outcome = await postEndlessBody(headers, start, { once: true });
      const reply = answered(
        outcome,
        `a ${what}, of which only the first ${start.length} bytes arrive: decide on the Content-Type before ` +
          "reading the body, and answer 415 at once instead of waiting for the rest",
      );
      expect(reply.status, `a ${what} must get 415 before its body is read (got ${reply.status})`).toBe(415);
    }
  });

  it(`a body of exactly ${MAX_BODY_BYTES} bytes is accepted; one byte more gets 413 with Connection: close`, async () => {
    const padded = (label: string, bytes: number) => {
      const text = JSON.stringify(validMember(label));
      return Buffer.from(text + " ".repeat(bytes - Buffer.byteLength(text)));
    };
    for (const chunked of [false, true]) {
      const how = chunked ? "sent chunked" : "with its Content-Length";
      const atLimit = answered(
        await postBytes(json, padded("limit", MAX_BODY_BYTES), { chunked }),
        `a body of exactly ${MAX_BODY_BYTES} bytes ${how}`,
      );
      expect(
        atLimit.status,
        `a body of exactly ${MAX_BODY_BYTES} bytes (JSON padded with spaces) ${how} is within the limit and must ` +
          `be accepted (got ${atLimit.status} ${atLimit.body.slice(0, 200)})`,
      ).toBe(201);
    }

    const before = await memberCount();
    const over = answered(
      await postBytes(json, padded("over", MAX_BODY_BYTES + 1)),
      `a body of ${MAX_BODY_BYTES + 1} bytes`,
    );
    expect(
      over.status,
      `a body of ${MAX_BODY_BYTES + 1} bytes must get 413 Content Too Large (got ${over.status})`,
    ).toBe(413);
    expect(
      over.headers["content-type"]?.split(";")[0] ?? "(no Content-Type header)",
      "the 413 is a problem document too (application/problem+json)",
    ).toBe("application/problem+json");
    expect(
      over.headers.connection ?? "(no Connection header)",
      "a 413 is sent with Connection: close, so the client stops sending the rest of the body",
    ).toBe("close");
    expect(await memberCount(), "nothing may be stored from a 413").toBe(before);
  });

  it("a declared Content-Length over the limit gets 413 at once, before the body has arrived", async () => {
    // Only the first KiB is sent, then the client waits: the announced length alone must decide.
    const outcome = await postEndlessBody(
      { ...json, "content-length": String(50 * 1024 * 1024) },
      Buffer.from(" ".repeat(1024)),
      { once: true },
    );
    const reply = answered(
      outcome,
      "the client announced 50 MiB in Content-Length, sent the first KiB and got no answer: refuse a " +
        `Content-Length over ${MAX_BODY_BYTES} before reading the body, not only once the bytes received pass ` +
        "the limit (they may come slowly, or not until the client hears back). A server that reads (or buffers) " +
        "everything first lets one client tie it up, or fill its memory",
    );
    expect(reply.status, `a Content-Length of 50 MiB must get 413 (got ${reply.status})`).toBe(413);
    expect(
      reply.headers.connection ?? "(no Connection header)",
      "after a 413 the rest of the body is not read: send Connection: close so the client stops sending it",
    ).toBe("close");
    expect(
      reply.headers["content-type"]?.split(";")[0] ?? "(no Content-Type header)",
      "the 413 is a problem document too (application/problem+json)",
    ).toBe("application/problem+json");
    let problem: Problem | undefined;
    try {
      problem = JSON.parse(reply.body) as Problem;
    } catch {
      problem = undefined;
    }
    expect(
      problem?.status,
      `the 413 problem's "status" member repeats 413 (got ${reply.body.slice(0, 200)})`,
    ).toBe(413);
    expect(
      typeof problem?.title === "string" && problem.title.trim() !== "" ? "a title" : "no title",
      `the 413 problem needs a non-empty "title" string saying what went wrong (got ${reply.body.slice(0, 200)})`,
    ).toBe("a title");
  });

  it("a chunked body gets 413 as soon as it passes the limit, while it is still arriving", async () => {
    const outcome = await postEndlessBody(json, Buffer.from(" ".repeat(1024)));
    const reply = answered(
      outcome,
      `a chunked body (no Content-Length) kept coming and got no answer. Count the bytes as the chunks ` +
        `arrive and answer 413 once they pass ${MAX_BODY_BYTES}, instead of waiting for the end of a body ` +
        "that may never end",
    );
    expect(
      reply.status,
      `a chunked body past ${MAX_BODY_BYTES} bytes must get 413 (got ${reply.status})`,
    ).toBe(413);
    expect(
      reply.headers.connection ?? "(no Connection header)",
      "after a 413 the rest of the body is not read: send Connection: close so the client stops sending it",
    ).toBe("close");
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
      `a name with quotes and SQL in it is a valid name and must be stored (${got(reply, 120)}). A 500 here ` +
        "usually means the value was pasted into the SQL text: pass every value as a parameter ($1, $2, ...)",
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
