/** One problem with the input: where it is (a JSON Pointer into the request body) and what is wrong. */
export interface FieldError {
  pointer: string;
  detail: string;
}

/** A member as it is stored: every string already normalised (see the README). */
export interface NewMember {
  email: string;
  displayName: string;
  age: number | null;
  bio: string;
  tags: string[];
}

export type Validation = { ok: true; member: NewMember } | { ok: false; errors: FieldError[] };

/** RFC 6901: the JSON Pointer of a member of the body, e.g. pointer("tags", 2) is "/tags/2". */
export function pointer(...path: (string | number)[]): string {
  return path.map((part) => `/${String(part).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

const KNOWN_FIELDS = new Set(["email", "displayName", "age", "bio", "tags"]);
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const CONTROL = /\p{Cc}/u;
/** Control characters other than \n, \r and \t. */
const CONTROL_EXCEPT_WHITESPACE = /(?![\n\r\t])\p{Cc}/u;

/** Unicode code points, what varchar(n) counts. */
function characters(text: string): number {
  return [...text].length;
}

function normalise(text: string): string {
  return text.trim().normalize("NFC");
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks the parsed request body against the rules of the README. On success, returns the member with
 * every value normalised; otherwise every problem found, each with the pointer of the offending value.
 */
export function validateMember(body: unknown): Validation {
  if (!isPlainObject(body)) {
    return { ok: false, errors: [{ pointer: "", detail: "the body must be a JSON object" }] };
  }
  const errors: FieldError[] = [];
  const fail = (at: string, detail: string): void => {
    errors.push({ pointer: at, detail });
  };

  for (const key of Object.keys(body)) {
    if (!KNOWN_FIELDS.has(key)) fail(pointer(key), "is not an allowed field");
  }

  // email: required string; trimmed, NFC, lower-cased; at most 254 characters; the pattern.
  let email = "";
  if (!Object.hasOwn(body, "email")) fail(pointer("email"), "is required");
  else if (typeof body.email !== "string") fail(pointer("email"), "must be a string");
  else {
    email = normalise(body.email).toLowerCase();
    if (characters(email) > 254) fail(pointer("email"), "must be at most 254 characters");
    else if (CONTROL.test(email)) fail(pointer("email"), "must not contain control characters");
    else if (!EMAIL_PATTERN.test(email))
      fail(pointer("email"), "must be an email address such as ada@example.com");
  }

  // displayName: required string; trimmed, NFC; 1 to 50 characters; no control characters.
  let displayName = "";
  if (!Object.hasOwn(body, "displayName")) fail(pointer("displayName"), "is required");
  else if (typeof body.displayName !== "string") fail(pointer("displayName"), "must be a string");
  else {
    displayName = normalise(body.displayName);
    const length = characters(displayName);
    if (length < 1 || length > 50) fail(pointer("displayName"), "must be 1 to 50 characters");
    else if (CONTROL.test(displayName)) fail(pointer("displayName"), "must not contain control characters");
  }

  // age: optional integer, 13 to 130.
  let age: number | null = null;
  if (body.age !== undefined && body.age !== null) {
    if (typeof body.age !== "number" || !Number.isInteger(body.age))
      fail(pointer("age"), "must be an integer");
    else if (body.age < 13 || body.age > 130) fail(pointer("age"), "must be between 13 and 130");
    else age = body.age;
  }

  // bio: optional string; trimmed, NFC; at most 500 characters; no control characters but \n, \r, \t.
  let bio = "";
  if (body.bio !== undefined && body.bio !== null) {
    if (typeof body.bio !== "string") fail(pointer("bio"), "must be a string");
    else {
      bio = normalise(body.bio);
      if (characters(bio) > 500) fail(pointer("bio"), "must be at most 500 characters");
      else if (CONTROL_EXCEPT_WHITESPACE.test(bio)) {
        fail(pointer("bio"), "must not contain control characters other than line breaks and tabs");
      }
    }
  }

  // tags: optional array of at most 5 strings; each trimmed, NFC, lower-cased, 1 to 20 characters.
  const tags: string[] = [];
  if (body.tags !== undefined && body.tags !== null) {
    if (!Array.isArray(body.tags)) fail(pointer("tags"), "must be an array of strings");
    else {
      if (body.tags.length > 5) fail(pointer("tags"), "must have at most 5 items");
      body.tags.forEach((item: unknown, index: number) => {
        if (typeof item !== "string") return fail(pointer("tags", index), "must be a string");
        const tag = normalise(item).toLowerCase();
        const length = characters(tag);
        if (length < 1 || length > 20) return fail(pointer("tags", index), "must be 1 to 20 characters");
        if (CONTROL.test(tag)) return fail(pointer("tags", index), "must not contain control characters");
        tags.push(tag);
      });
    }
  }

  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, member: { email, displayName, age, bio, tags } };
}
