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

/**
 * Checks the parsed request body against the rules of the README. On success, returns the member with
 * every value normalised; otherwise every problem found, each with the pointer of the offending value.
 */
export function validateMember(body: unknown): Validation {
  // TODO 2: check every field (and reject unknown ones), collecting ALL the errors before returning.
  // TODO 1: normalise what you store: trim, NFC, lower-case the email and the tags.
  throw new Error(`validateMember(${typeof body}) is not implemented yet`);
}
