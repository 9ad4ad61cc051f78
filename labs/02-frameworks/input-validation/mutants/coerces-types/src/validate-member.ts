/** One problem with the input: where it is (a JSON Pointer into the request body) and what is wrong. */
export interface FieldError {
  pointer: string;
  detail: string;
}

/** A member as it is stored: every string already trimmed and in Unicode NFC. */
export interface NewMember {
  email: string;
  displayName: string;
  age: number | null;
  bio: string;
  tags: string[];
}

export type Validation = { ok: true; member: NewMember } | { ok: false; errors: FieldError[] };

const knownFields = new Set(["email", "displayName", "age", "bio", "tags"]);
const emailShape = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** Control characters (C0, DEL, C1). Postgres rejects U+0000 in text outright. */
const controlCharacter = /\p{Cc}/u;
/** The same, except the line breaks and tabs a multi-line bio may hold. */
const controlCharacterExceptLines = /[^\P{Cc}\n\r\t]/u;

/** RFC 6901: "/" and "~" inside a key are escaped, so every key has exactly one pointer. */
export function pointer(...path: (string | number)[]): string {
  return path.map((part) => `/${String(part).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

/** Length as Postgres's varchar(n) counts it: in characters (code points), not UTF-16 units. */
const characters = (text: string): number => [...text].length;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Checks the whole body and reports every problem at once, so a client fixes its request in one round trip.
 * Nothing is coerced: "42" is not a number, and 42 is not a string. Optional fields may be left out or null.
 */
export function validateMember(body: unknown): Validation {
  if (!isPlainObject(body)) return { ok: false, errors: [{ pointer: "", detail: "must be a JSON object" }] };
  const errors: FieldError[] = [];
  const fail = (at: string, detail: string) => errors.push({ pointer: at, detail });

  for (const key of Object.keys(body)) {
    if (!knownFields.has(key)) fail(pointer(key), "is not a known field");
  }

  let email = "";
  if (body.email === undefined) fail(pointer("email"), "is required");
  else if (typeof body.email !== "string") fail(pointer("email"), "must be a string");
  else {
    email = body.email.trim().normalize("NFC").toLowerCase();
    if (characters(email) > 254) fail(pointer("email"), "must be at most 254 characters");
    else if (!emailShape.test(email)) fail(pointer("email"), "must be an email address like name@example.com");
  }

  let displayName = "";
  if (body.displayName === undefined) fail(pointer("displayName"), "is required");
  else {
    // MISTAKE: converts whatever arrives into a string
    displayName = String(body.displayName as string).trim().normalize("NFC");
    const length = characters(displayName);
    if (length < 1 || length > 50) fail(pointer("displayName"), "must be 1 to 50 characters");
    else if (controlCharacter.test(displayName)) {
      fail(pointer("displayName"), "must not contain control characters");
    }
  }

  let age: number | null = null;
  if (body.age !== undefined && body.age !== null) {
    // MISTAKE: converts whatever arrives into a number
    const value = Number(body.age);
    if (!Number.isInteger(value)) fail(pointer("age"), "must be a whole number");
    else if (value < 13 || value > 130) fail(pointer("age"), "must be from 13 to 130");
    else age = value;
  }

  let bio = "";
  if (body.bio !== undefined && body.bio !== null) {
    if (typeof body.bio !== "string") fail(pointer("bio"), "must be a string");
    else {
      bio = body.bio.trim().normalize("NFC");
      if (characters(bio) > 500) fail(pointer("bio"), "must be at most 500 characters");
      else if (controlCharacterExceptLines.test(bio)) {
        fail(pointer("bio"), "must not contain control characters other than line breaks and tabs");
      }
    }
  }

  const tags: string[] = [];
  if (body.tags !== undefined && body.tags !== null) {
    if (!Array.isArray(body.tags)) fail(pointer("tags"), "must be an array of strings");
    else if (body.tags.length > 5) fail(pointer("tags"), "must hold at most 5 tags");
    else {
      body.tags.forEach((tag: unknown, index) => {
        if (typeof tag !== "string") return fail(pointer("tags", index), "must be a string");
        const normalized = tag.trim().normalize("NFC").toLowerCase();
        const length = characters(normalized);
        if (length < 1 || length > 20) return fail(pointer("tags", index), "must be 1 to 20 characters");
        if (controlCharacter.test(normalized)) {
          return fail(pointer("tags", index), "must not contain control characters");
        }
        tags.push(normalized);
      });
    }
  }

  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, member: { email, displayName, age, bio, tags } };
}
