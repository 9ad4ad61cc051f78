// Shared by the grader files: HTTP calls to the learner's server, tokens the grader signs itself, and ways to
// arrange and inspect the tables as the superuser, independently of the learner's code.
import { createHash, randomBytes, randomUUID, scryptSync } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { SignJWT } from "jose";
import { expect } from "vitest";
import { learner, postgres } from "@backend-labs/graders";

// The values the README fixes.
export const ACCESS_TOKEN_SECRET = new TextEncoder().encode(
  "jwt-lab: 32+ random bytes from a secret store, never a string in git",
);
export const ISSUER = "https://auth.backend-labs.test";
export const AUDIENCE = "https://api.backend-labs.test";
export const ACCESS_TOKEN_TTL_SECONDS = 300;
export const REFRESH_TOKEN_TTL_DAYS = 14;

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
}

export function uid(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

export async function send(
  method: string,
  path: string,
  options: { json?: unknown; raw?: string; authorization?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  const body = options.json !== undefined ? JSON.stringify(options.json) : options.raw;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await learner().fetch(path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** "got 500 {"error":...}": what the learner's server answered, for assertion messages. */
export function got(reply: Reply): string {
  const body = reply.text.length > 300 ? `${reply.text.slice(0, 300)}...` : reply.text;
  return `got ${reply.status}${body ? ` ${body}` : " with no body"}`;
}

/**
 * The README: "Errors are { "error": "<message>" }". Checks that shape (a non-empty message, whatever its
 * wording) on a reply whose status the caller has already checked.
 */
export function expectErrorBody(reply: Reply, what: string): void {
  const body = reply.json;
  const error =
    typeof body === "object" && body !== null && !Array.isArray(body)
      ? (body as Record<string, unknown>).error
      : undefined;
  expect(
    typeof error === "string" && error.trim().length > 0,
    `${what}: ${got(reply)}. The README fixes the shape of every error: a JSON body { "error": "<message>" } ` +
      "whose message says what went wrong (throw new HttpError(status, message): the starter's handler writes it)",
  ).toBe(true);
}

export interface User {
  id: string;
  email: string;
  password: string;
}

/**
 * A user of its own for each test, created directly in the database. The password hash uses a low scrypt
 * cost so that logins stay fast; the learner's code reads the cost from the hash.
 */
export async function createUser(label: string): Promise<User> {
  const id = uid(label);
  const user = { id, email: `${id}@example.test`, password: randomBytes(9).toString("base64url") };
  const salt = randomBytes(16);
  const hash = scryptSync(user.password, salt, 32, { N: 1024, r: 8, p: 1 });
  await postgres().query("INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3)", [
    user.id,
    user.email,
    `scrypt$1024$8$1$${salt.toString("base64")}$${hash.toString("base64")}`,
  ]);
  return user;
}

/** Logs in through the learner's server; fails the test with what the server said if that did not work. */
export async function login(user: User): Promise<TokenPair> {
  const reply = await send("POST", "/auth/login", { json: { email: user.email, password: user.password } });
  if (reply.status !== 200) {
    throw new Error(`POST /auth/login with the right email and password must answer 200, ${got(reply)}`);
  }
  return reply.json as TokenPair;
}

export function refresh(refreshToken: string): Promise<Reply> {
  return send("POST", "/auth/refresh", { json: { refreshToken } });
}

export function me(accessToken: string): Promise<Reply> {
  return send("GET", "/me", { authorization: `Bearer ${accessToken}` });
}

export function sha256Hex(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

// ------------------------------------------------------------------------------------------------------
// Access tokens the grader signs itself

export interface Forged {
  claims?: Record<string, unknown>;
  /** Claims to leave out of the defaults. */
  without?: string[];
  secret?: Uint8Array;
  /** Another HMAC algorithm than HS256, with the same secret. */
  alg?: "HS384" | "HS512";
}

/** An access token as the README specifies it (valid for `sub`), changed as asked. */
export async function signAccessToken(sub: string, { claims = {}, without = [], secret, alg }: Forged = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    sub,
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + ACCESS_TOKEN_TTL_SECONDS,
    ...claims,
  };
  for (const claim of without) delete payload[claim];
  return new SignJWT(payload)
    .setProtectedHeader({ alg: alg ?? "HS256", typ: "JWT" })
    .sign(secret ?? ACCESS_TOKEN_SECRET);
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** An unsigned token ("alg": "none") with valid claims for `sub`. */
export function unsignedToken(sub: string): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + ACCESS_TOKEN_TTL_SECONDS };
  return `${base64url({ alg: "none", typ: "JWT" })}.${base64url(payload)}.`;
}

/** A valid token whose payload was swapped for another user's, keeping the original signature. */
export async function tamperedToken(sub: string, otherSub: string): Promise<string> {
  const [header, payload, signature] = (await signAccessToken(sub)).split(".");
  const claims = JSON.parse(Buffer.from(payload!, "base64url").toString("utf8")) as Record<string, unknown>;
  return `${header}.${base64url({ ...claims, sub: otherSub })}.${signature}`;
}

// ------------------------------------------------------------------------------------------------------
// The tables

export interface FamilyRow {
  id: string;
  user_id: string;
  revoked_at: Date | null;
  revoked_reason: string | null;
}

export interface TokenRow {
  id: string;
  family_id: string;
  token_hash: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  replaced_by: string | null;
  /** Seconds from now (the database's clock) to expires_at. */
  expires_in_seconds: number;
}

export async function familiesOf(user: User): Promise<FamilyRow[]> {
  const { rows } = await postgres().query<FamilyRow>(
    "SELECT id, user_id, revoked_at, revoked_reason FROM token_families WHERE user_id = $1 ORDER BY created_at, id",
    [user.id],
  );
  return rows;
}

/** The refresh_tokens rows of every family of the user, oldest first. */
export async function tokenRowsOf(user: User): Promise<TokenRow[]> {
  const { rows } = await postgres().query<TokenRow>(
    `SELECT t.id, t.family_id, t.token_hash, t.created_at, t.expires_at, t.revoked_at, t.replaced_by,
            extract(epoch FROM t.expires_at - now())::float8 AS expires_in_seconds
       FROM refresh_tokens t JOIN token_families f ON f.id = t.family_id
      WHERE f.user_id = $1
      ORDER BY t.created_at, t.id`,
    [user.id],
  );
  return rows;
}

export async function tokenRowByToken(token: string): Promise<TokenRow | undefined> {
  const { rows } = await postgres().query<TokenRow>(
    `SELECT id, family_id, token_hash, created_at, expires_at, revoked_at, replaced_by,
            extract(epoch FROM expires_at - now())::float8 AS expires_in_seconds
       FROM refresh_tokens WHERE token_hash = $1`,
    [sha256Hex(token)],
  );
  return rows[0];
}

/** The token's row, found by its hash as the README specifies; fails the test with a lesson if it is missing. */
export async function storedTokenRow(token: string, what: string): Promise<TokenRow> {
  const row = await tokenRowByToken(token);
  expect(
    row,
    `refresh_tokens has no row whose token_hash is the SHA-256 (lowercase hex) of the refresh token ${what}: ` +
      'store createHash("sha256").update(token).digest("hex"), never the token itself',
  ).toBeDefined();
  return row!;
}

async function lockWaiters(): Promise<number> {
  const { rows } = await postgres().query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND wait_event_type = 'Lock'`,
  );
  return rows[0]?.n ?? 0;
}

/**
 * Makes a race deterministic. The grader locks the token's row (SELECT ... FOR UPDATE in an open
 * transaction), sends the requests, waits until `waiters` database sessions queue on a lock (or every
 * request has been answered, or 3 s passed), then commits. By then each request has read whatever it reads
 * before it writes, and they all go on from the same instant.
 */
export async function raceOnLockedToken<T>(
  tokenId: string,
  waiters: number,
  start: () => Promise<T>[],
): Promise<T[]> {
  const client = await postgres().connect();
  let open = false;
  try {
    await client.query("BEGIN");
    open = true;
    await client.query("SELECT id FROM refresh_tokens WHERE id = $1 FOR UPDATE", [tokenId]);
    let settled = 0;
    const calls = start().map((call) => call.finally(() => settled++));
    const outcomes = Promise.allSettled(calls);
    const deadline = Date.now() + 3_000;
    while (settled < calls.length && Date.now() < deadline && (await lockWaiters()) < waiters)
      await sleep(20);
    await client.query("COMMIT");
    open = false;
    return (await outcomes).map((outcome) => {
      if (outcome.status === "rejected") throw outcome.reason;
      return outcome.value;
    });
  } finally {
    if (open) await client.query("ROLLBACK").catch(() => undefined);
    client.release();
  }
}

/**
 * Runs `fn` while the database refuses any UPDATE that sets replaced_by on the token row `tokenId` (a
 * trigger, dropped afterwards): the last write of a rotation fails, as a crash at that moment would.
 */
export async function withFailingReplacedBy<T>(tokenId: string, fn: () => Promise<T>): Promise<T> {
  const name = `grader_fail_replaced_by_${tokenId.replace(/-/g, "")}`;
  await postgres().query(
    `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION 'grader: simulated failure while setting replaced_by'; END $$`,
  );
  try {
    await postgres().query(
      `CREATE TRIGGER ${name} BEFORE UPDATE ON refresh_tokens FOR EACH ROW
       WHEN (NEW.id = '${tokenId}'::uuid AND NEW.replaced_by IS NOT NULL) EXECUTE FUNCTION ${name}()`,
    );
    try {
      return await fn();
    } finally {
      await postgres().query(`DROP TRIGGER IF EXISTS ${name} ON refresh_tokens`);
    }
  } finally {
    await postgres().query(`DROP FUNCTION IF EXISTS ${name}()`);
  }
}
