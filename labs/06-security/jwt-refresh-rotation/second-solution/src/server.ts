import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import pg from "pg";
import { compactVerify, SignJWT } from "jose";

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
pool.on("error", (error) => console.error("postgres pool error:", error.message));

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  response
    .writeHead(status, { ...headers, "content-type": "application/json", "cache-control": "no-store" })
    .end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
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
  if (typeof value !== "string" || value.length === 0 || value.length > 1024) {
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

// Everything above is given: parsing, transactions and the password check are not what this lab is about.
// The tables are described in the README (fixtures/schema.sql).

// Design: access tokens are signed with SignJWT and checked with jose's compactVerify (signature and
// algorithm only), followed by explicit claim checks written out below. Refresh rotation decides its winner
// with a single conditional UPDATE (no SELECT ... FOR UPDATE): only the statement that flips revoked_at from
// NULL gets a row back; everyone else falls through to the reuse rules.

const sha256Hex = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex");

function unauthorized(message: string, headers: OutgoingHttpHeaders = {}): HttpError {
  return new HttpError(401, message, headers);
}

async function issueAccessToken(userId: string): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ACCESS_TOKEN_TTL_SECONDS)
    .sign(ACCESS_TOKEN_SECRET);
}

function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, hash: sha256Hex(token) };
}

async function tokenPair(userId: string, refreshToken: string): Promise<TokenPair> {
  return {
    accessToken: await issueAccessToken(userId),
    refreshToken,
    tokenType: "Bearer",
    expiresIn: ACCESS_TOKEN_TTL_SECONDS,
  };
}

/** POST /auth/login: a new family with its first refresh token, and an access token. */
async function login(request: IncomingMessage): Promise<TokenPair> {
  const body = await readJson(request);
  const userId = await checkCredentials(requireString(body, "email"), requireString(body, "password"));
  const { token, hash } = newRefreshToken();
  // One statement: the family and its first token are created together or not at all.
  await pool.query(
    `WITH family AS (
       INSERT INTO token_families (user_id, created_at) VALUES ($1, now()) RETURNING id
     )
     INSERT INTO refresh_tokens (family_id, token_hash, created_at, expires_at)
     SELECT id, $2, now(), now() + make_interval(days => $3::int) FROM family`,
    [userId, hash, REFRESH_TOKEN_TTL_DAYS],
  );
  return tokenPair(userId, token);
}

/** Revokes a family and every live token in it, if the family is still live. True when this call did it. */
async function revokeFamily(
  client: pg.PoolClient,
  familyId: string,
  reason: "logout" | "reuse",
): Promise<boolean> {
  const { rowCount } = await client.query(
    `UPDATE token_families SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL`,
    [familyId, reason],
  );
  await client.query(
    `UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`,
    [familyId],
  );
  return (rowCount ?? 0) > 0;
}

/** POST /auth/refresh: rotates the refresh token. */
async function refresh(request: IncomingMessage): Promise<TokenPair> {
  const presented = requireString(await readJson(request), "refreshToken");
  const presentedHash = sha256Hex(presented);
  const successor = newRefreshToken();

  const rotated = await inTransaction(async (client) => {
    // The conditional UPDATE is the decision: under READ COMMITTED a concurrent request waits for the row,
    // re-reads it after the winner commits, sees revoked_at set and matches nothing. The FOR SHARE on the
    // family makes a concurrent family revocation (logout or reuse) wait for this rotation to commit, so it
    // also sees and revokes the successor.
    const { rows } = await client.query<{ id: string; family_id: string; user_id: string }>(
      `WITH old AS (
         UPDATE refresh_tokens t SET revoked_at = now()
          WHERE t.token_hash = $1
            AND t.revoked_at IS NULL
            AND t.expires_at > now()
            AND t.family_id IN (SELECT f.id FROM token_families f WHERE f.revoked_at IS NULL FOR SHARE)
         RETURNING t.id, t.family_id
       )
       SELECT old.id, old.family_id, f.user_id FROM old JOIN token_families f ON f.id = old.family_id`,
      [presentedHash],
    );
    const old = rows[0];
    if (!old) return null; // commit at once: no share lock is held while the refusal is worked out
    const inserted = await client.query<{ id: string }>(
      `INSERT INTO refresh_tokens (family_id, token_hash, created_at, expires_at)
       VALUES ($1, $2, now(), now() + make_interval(days => $3::int)) RETURNING id`,
      [old.family_id, successor.hash, REFRESH_TOKEN_TTL_DAYS],
    );
    await client.query(`UPDATE refresh_tokens SET replaced_by = $2 WHERE id = $1`, [
      old.id,
      inserted.rows[0]!.id,
    ]);
    return { userId: old.user_id };
  });
  if (rotated) return tokenPair(rotated.userId, successor.token);

  // Not rotated: find out why, from committed state, in a transaction of its own.
  const outcome = await inTransaction<string>(async (client) => {
    const found = await client.query<{
      family_id: string;
      revoked_at: Date | null;
      expired: boolean;
      family_revoked: boolean;
    }>(
      `SELECT t.family_id, t.revoked_at, t.expires_at <= now() AS expired, f.revoked_at IS NOT NULL AS family_revoked
         FROM refresh_tokens t JOIN token_families f ON f.id = t.family_id
        WHERE t.token_hash = $1`,
      [presentedHash],
    );
    const token = found.rows[0];
    if (!token) return "unknown refresh token";
    if (token.family_revoked) return "this login has ended; log in again";
    if (token.revoked_at !== null) {
      // Reuse: a rotated token came back. Revoke the family; the commit happens before we answer 401.
      await revokeFamily(client, token.family_id, "reuse");
      return "refresh token reuse detected; log in again";
    }
    if (token.expired) return "the refresh token has expired";
    return "the refresh token cannot be used";
  });

  throw unauthorized(outcome);
}

/** POST /auth/logout: ends the login the token belongs to. */
async function logout(request: IncomingMessage): Promise<void> {
  const presented = requireString(await readJson(request), "refreshToken");
  const known = await inTransaction(async (client) => {
    const { rows } = await client.query<{ family_id: string }>(
      `SELECT family_id FROM refresh_tokens WHERE token_hash = $1`,
      [sha256Hex(presented)],
    );
    const token = rows[0];
    if (!token) return false;
    await revokeFamily(client, token.family_id, "logout");
    return true;
  });
  if (!known) throw unauthorized("unknown refresh token");
}

const BEARER_CHALLENGE = `Bearer realm="backend-labs"`;
const invalidToken = (description: string): HttpError =>
  unauthorized(description, {
    "www-authenticate": `${BEARER_CHALLENGE}, error="invalid_token", error_description="${description}"`,
  });

function isNumericDate(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** The user id of a valid access token in `Authorization: Bearer <token>`. */
async function authenticate(request: IncomingMessage): Promise<string> {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
  if (!match)
    throw unauthorized("a Bearer access token is required", { "www-authenticate": BEARER_CHALLENGE });

  let payloadBytes: Uint8Array;
  try {
    // Signature and algorithm only; compactVerify rejects every alg not listed (none included).
    ({ payload: payloadBytes } = await compactVerify(match[1]!, ACCESS_TOKEN_SECRET, {
      algorithms: ["HS256"],
    }));
  } catch {
    throw invalidToken("the access token signature is invalid");
  }

  let claims: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payloadBytes));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("not an object");
    claims = parsed as Record<string, unknown>;
  } catch {
    throw invalidToken("the access token payload is not a JSON object");
  }

  // The claim checks compactVerify does not do. Every one is required: a JWT without exp never expires.
  const now = Math.floor(Date.now() / 1000);
  const { exp, iat, nbf, iss, aud, sub } = claims;
  if (!isNumericDate(exp)) throw invalidToken("the access token has no exp");
  if (!isNumericDate(iat)) throw invalidToken("the access token has no iat");
  if (exp <= now - CLOCK_TOLERANCE_SECONDS) throw invalidToken("the access token has expired");
  if (iat > now + CLOCK_TOLERANCE_SECONDS) throw invalidToken("the access token was issued in the future");
  if (nbf !== undefined && (!isNumericDate(nbf) || nbf > now + CLOCK_TOLERANCE_SECONDS)) {
    throw invalidToken("the access token is not valid yet");
  }
  if (iss !== ISSUER) throw invalidToken("the access token has the wrong issuer");
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(AUDIENCE)) throw invalidToken("the access token is for another audience");
  if (typeof sub !== "string" || sub.length === 0) throw invalidToken("the access token has no subject");
  return sub;
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  const route = `${request.method} ${path}`;
  if (route === "POST /auth/login") return sendJson(response, 200, await login(request));
  if (route === "POST /auth/refresh") return sendJson(response, 200, await refresh(request));
  if (route === "POST /auth/logout") {
    await logout(request);
    response.writeHead(204, { "cache-control": "no-store" }).end();
    return;
  }
  if (route === "GET /me") return sendJson(response, 200, { userId: await authenticate(request) });
  throw new HttpError(404, `no route ${route}`);
}

const server = createServer((request, response) => {
  handle(request, response).catch((error: unknown) => {
    if (error instanceof HttpError) {
      sendJson(response, error.status, { error: error.message }, error.headers);
      return;
    }
    console.error(`${request.method} ${request.url} failed:`, error);
    if (!response.headersSent) sendJson(response, 500, { error: "internal server error" });
    else response.destroy();
  });
});

server.listen(Number(process.env.PORT));
