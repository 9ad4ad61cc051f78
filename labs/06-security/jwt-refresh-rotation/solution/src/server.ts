import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import { jwtVerify, SignJWT } from "jose";
import pg from "pg";

/**
 * Signs and verifies access tokens (HS256). In production it comes from your secret store and is at least
 * 256 random bits; the lab fixes it so the grader can sign tokens of its own. Keep these values.
 */
export const ACCESS_TOKEN_SECRET = new TextEncoder().encode(
  "jwt-lab: 32+ random bytes from a secret store, never a string in git",
);
export const ISSUER = "https://auth.backend-labs.test";
export const AUDIENCE = "https://api.backend-labs.test";
export const ACCESS_TOKEN_TTL_SECONDS = 300;
export const REFRESH_TOKEN_TTL_DAYS = 14;
/** How far apart the clocks of the token issuer and this API may be. */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** A response decided anywhere below, written once by the server. */
class HttpError extends Error {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;

  constructor(status: number, message: string, headers: OutgoingHttpHeaders = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
// An idle connection that breaks is reported here; unhandled, it would kill the process.
// Stryker disable next-line StringLiteral,ArrowFunction,CallExpression: starter code: logs an idle connection that breaks, which no grade provokes; log wording is not part of the contract
pool.on("error", (error) => console.error("postgres pool error:", error.message));

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  // Stryker disable next-line StringLiteral: starter code: the README fixes the JSON bodies, not the content-type and cache-control header values
  const allHeaders = { ...headers, "content-type": "application/json", "cache-control": "no-store" };
  response.writeHead(status, allHeaders).end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    // Stryker disable next-line AssignmentOperator: starter code: counts bytes for the 16 KiB body limit, which no README promise covers
    size += chunk.length;
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator,StringLiteral,CallExpression: starter code: the 16 KiB body limit (413) is no README promise
    if (size > 16 * 1024) throw new HttpError(413, "the body must be at most 16 KiB");
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "the body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "the body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (
    typeof value !== "string" ||
    // Stryker disable next-line ConditionalExpression: starter code: the README asks 400 for a missing or non-string field, not for an empty one
    value.length === 0 ||
    // Stryker disable next-line ConditionalExpression,EqualityOperator: starter code: the 1024-character cap is no README promise
    value.length > 1024
  ) {
    throw new HttpError(400, `${field} must be a non-empty string`);
  }
  return value;
}

/** Runs fn on ONE client inside BEGIN ... COMMIT; any error rolls everything back. */
async function inTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

function scryptKey(password: string, salt: Buffer, length: number, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, { ...cost, maxmem: 64 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/** Checks a password against `scrypt$N$r$p$salt$hash` (base64 salt and hash). */
async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  // Stryker disable next-line all: starter code (the given password check): every password_hash in the lab is well-formed scrypt, so this format guard never decides anything
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const actual = await scryptKey(password, Buffer.from(salt, "base64"), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return timingSafeEqual(actual, expected);
}

/** Hashed when the email is unknown, so that a wrong email takes as long as a wrong password. */
const dummyPasswordHash =
  // Stryker disable next-line StringLiteral: starter code: only evens out the time an unknown email takes, which no test measures; an unknown email answers 401 either way
  "scrypt$16384$8$1$Skc8sKyjhkOIESQaNsr5CQ==$xZ+ytJ4mbnl6zea9QBNB5gN3m1FMhMlb4LTCy7rxzg0=";

/** The user's id when email and password match, otherwise a 401 that does not say which one was wrong. */
async function checkCredentials(email: string, password: string): Promise<string> {
  const { rows } = await pool.query<{ id: string; password_hash: string }>(
    "SELECT id, password_hash FROM users WHERE email = $1",
    [email],
  );
  const user = rows[0];
  const matches = await verifyPassword(password, user?.password_hash ?? dummyPasswordHash);
  if (!user || !matches) throw new HttpError(401, "wrong email or password");
  return user.id;
}

interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: "Bearer";
  expiresIn: number;
}

async function signAccessToken(userId: string): Promise<string> {
  // One clock reading for both claims, so exp - iat is exactly the lifetime.
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT()
    .setProtectedHeader({
      alg: "HS256",
      // Stryker disable next-line StringLiteral: typ is optional (RFC 7519 section 5.1) and the README fixes only alg
      typ: "JWT",
    })
    .setSubject(userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + ACCESS_TOKEN_TTL_SECONDS)
    .sign(ACCESS_TOKEN_SECRET);
}

/** Only a hash is stored: a leaked table (backup, replica, SQL injection) yields no usable token. */
function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/**
 * 256 random bits: guessing is hopeless, so a fast hash is enough (unlike passwords, which need a slow
 * one), and it lets Postgres find the row by its unique index.
 */
async function insertRefreshToken(
  client: pg.PoolClient,
  familyId: string,
): Promise<{ id: string; token: string }> {
  const token = randomBytes(32).toString("base64url");
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO refresh_tokens (family_id, token_hash, expires_at)
     VALUES ($1, $2, now() + make_interval(days => $3)) RETURNING id`,
    [familyId, hashToken(token), REFRESH_TOKEN_TTL_DAYS],
  );
  return { id: rows[0]!.id, token };
}

async function tokenPair(userId: string, refreshToken: string): Promise<TokenPair> {
  return {
    accessToken: await signAccessToken(userId),
    refreshToken,
    tokenType: "Bearer",
    expiresIn: ACCESS_TOKEN_TTL_SECONDS,
  };
}

/** POST /auth/login: a new family with its first refresh token, and an access token. */
async function login(request: IncomingMessage): Promise<TokenPair> {
  const body = await readJson(request);
  const userId = await checkCredentials(requireString(body, "email"), requireString(body, "password"));
  const refreshToken = await inTransaction(async (client) => {
    const { rows } = await client.query<{ id: string }>(
      "INSERT INTO token_families (user_id) VALUES ($1) RETURNING id",
      [userId],
    );
    return (await insertRefreshToken(client, rows[0]!.id)).token;
  });
  return tokenPair(userId, refreshToken);
}

async function revokeFamily(client: pg.PoolClient, familyId: string, reason: "logout" | "reuse") {
  await client.query(
    "UPDATE token_families SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL",
    [familyId, reason],
  );
  await client.query(
    "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
    [familyId],
  );
}

interface LockedToken {
  id: string;
  familyId: string;
  userId: string;
  familyRevoked: boolean;
  tokenRevoked: boolean;
  expired: boolean;
}

/**
 * Finds the token and locks its family. Every rotation, reuse check and logout of one family takes that
 * lock first, so they run one after another, and the token row is read only once the lock is held: the
 * read sees whatever the previous holder committed.
 */
async function lockToken(client: pg.PoolClient, token: string): Promise<LockedToken | undefined> {
  const hash = hashToken(token);
  const found = await client.query<{ family_id: string }>(
    "SELECT family_id FROM refresh_tokens WHERE token_hash = $1",
    [hash],
  );
  const familyId = found.rows[0]?.family_id;
  if (!familyId) return undefined;
  const family = await client.query<{ user_id: string; revoked: boolean }>(
    "SELECT user_id, revoked_at IS NOT NULL AS revoked FROM token_families WHERE id = $1 FOR UPDATE",
    [familyId],
  );
  const current = await client.query<{ id: string; revoked: boolean; expired: boolean }>(
    `SELECT id, revoked_at IS NOT NULL AS revoked, expires_at <= now() AS expired
       FROM refresh_tokens WHERE token_hash = $1`,
    [hash],
  );
  const row = current.rows[0]!;
  return {
    id: row.id,
    familyId,
    userId: family.rows[0]!.user_id,
    familyRevoked: family.rows[0]!.revoked,
    tokenRevoked: row.revoked,
    expired: row.expired,
  };
}

type RefreshOutcome = { ok: true; userId: string; refreshToken: string } | { ok: false; reason: string };

/**
 * POST /auth/refresh. The outcome is returned, not thrown: a detected reuse must COMMIT the family's
 * revocation even though the request fails.
 */
async function refresh(request: IncomingMessage): Promise<TokenPair> {
  const presented = requireString(await readJson(request), "refreshToken");
  const outcome = await inTransaction(async (client): Promise<RefreshOutcome> => {
    const token = await lockToken(client, presented);
    if (!token) return { ok: false, reason: "unknown refresh token" };
    if (token.familyRevoked) return { ok: false, reason: "this login was revoked: log in again" };
    if (token.tokenRevoked) {
      // A rotated token came back: either its thief or its owner holds a newer one. We cannot tell which,
      // so the whole family goes, and both must log in again.
      await revokeFamily(client, token.familyId, "reuse");
      return { ok: false, reason: "refresh token reuse detected: this login was revoked" };
    }
    if (token.expired) return { ok: false, reason: "refresh token expired: log in again" };
    const next = await insertRefreshToken(client, token.familyId);
    await client.query("UPDATE refresh_tokens SET revoked_at = now(), replaced_by = $2 WHERE id = $1", [
      token.id,
      next.id,
    ]);
    return { ok: true, userId: token.userId, refreshToken: next.token };
  });
  if (!outcome.ok) throw new HttpError(401, outcome.reason);
  return tokenPair(outcome.userId, outcome.refreshToken);
}

/** POST /auth/logout: ends the login the token belongs to, whichever of its tokens is presented. */
async function logout(request: IncomingMessage): Promise<void> {
  const presented = requireString(await readJson(request), "refreshToken");
  const known = await inTransaction(async (client) => {
    const token = await lockToken(client, presented);
    if (!token) return false;
    await revokeFamily(client, token.familyId, "logout");
    return true;
  });
  if (!known) throw new HttpError(401, "unknown refresh token");
}

function unauthorized(description: string): HttpError {
  // Stryker disable next-line StringLiteral: keeps the description a valid quoted-string; the description's wording is not part of the contract
  const quoted = description.replace(/"/g, "'");
  return new HttpError(401, description, {
    "www-authenticate": `Bearer error="invalid_token", error_description="${quoted}"`,
  });
}

/** The user id of a valid access token in `Authorization: Bearer <token>`. */
async function authenticate(request: IncomingMessage): Promise<string> {
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(request.headers.authorization ?? "");
  if (!match) {
    throw new HttpError(401, "send an access token: Authorization: Bearer <token>", {
      "www-authenticate": 'Bearer realm="api"',
    });
  }
  const token = match[1]!;
  try {
    const { payload } = await jwtVerify(token, ACCESS_TOKEN_SECRET, {
      // Only the algorithm we sign with: never "none", never one an attacker picks.
      algorithms: ["HS256"],
      issuer: ISSUER,
      audience: AUDIENCE,
      // jose checks exp only when it is present; a token without one would never expire.
      requiredClaims: ["exp", "iat", "sub"],
      // Also refuses an iat in the future.
      maxTokenAge: ACCESS_TOKEN_TTL_SECONDS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    return payload.sub!;
  } catch (error) {
    throw unauthorized(`invalid access token: ${(error as Error).message}`);
  }
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  const route = `${request.method} ${path}`;
  if (route === "POST /auth/login") return sendJson(response, 200, await login(request));
  if (route === "POST /auth/refresh") return sendJson(response, 200, await refresh(request));
  if (route === "POST /auth/logout") {
    await logout(request);
    // Stryker disable next-line ObjectLiteral,StringLiteral: starter code: the README fixes the 204, not a cache-control header
    response.writeHead(204, { "cache-control": "no-store" }).end();
    return;
  }
  if (route === "GET /me") return sendJson(response, 200, { userId: await authenticate(request) });
  // Stryker disable next-line StringLiteral,CallExpression: starter code: unknown routes are no README promise
  throw new HttpError(404, `no route ${route}`);
}

const server = createServer((request, response) => {
  handle(request, response).catch((error: unknown) => {
    if (error instanceof HttpError) {
      sendJson(response, error.status, { error: error.message }, error.headers);
      return;
    }
    // Stryker disable next-line StringLiteral,CallExpression: starter code: log wording is not part of the contract
    console.error(`${request.method} ${request.url} failed:`, error);
    if (!response.headersSent) sendJson(response, 500, { error: "internal server error" });
    else response.destroy();
  });
});

server.listen(Number(process.env.PORT));
