import { scrypt, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import pg from "pg";
// Also useful here: createHash and randomBytes from "node:crypto", SignJWT and jwtVerify from "jose".

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

/** POST /auth/login: a new family with its first refresh token, and an access token. */
async function login(request: IncomingMessage): Promise<TokenPair> {
  const body = await readJson(request);
  const userId = await checkCredentials(requireString(body, "email"), requireString(body, "password"));
  // TODO 1: sign an HS256 access token (SignJWT: sub, iss, aud, iat, exp = iat + ACCESS_TOKEN_TTL_SECONDS),
  //         create a token_families row and a refresh token in it. Store only the token's SHA-256 (hex).
  void inTransaction;
  throw new HttpError(501, `POST /auth/login (user ${userId}) is not implemented yet`);
}

/** POST /auth/refresh: rotates the refresh token. */
async function refresh(request: IncomingMessage): Promise<TokenPair> {
  const presented = requireString(await readJson(request), "refreshToken");
  // TODO 3: a known, unrevoked, unexpired token: issue its successor in the same family, revoke it and set
  //         its replaced_by, all in one transaction. Anything else: 401.
  // TODO 4: a rotated (revoked) token that comes back: revoke its whole family (reason 'reuse'), commit, 401.
  // TODO 5: concurrent refreshes with the same token: exactly one wins.
  throw new HttpError(501, `POST /auth/refresh (${presented.length} characters) is not implemented yet`);
}

/** POST /auth/logout: ends the login the token belongs to. */
async function logout(request: IncomingMessage): Promise<void> {
  const presented = requireString(await readJson(request), "refreshToken");
  // TODO 6: revoke the token's family (reason 'logout') and every token in it; an unknown token is a 401.
  throw new HttpError(501, `POST /auth/logout (${presented.length} characters) is not implemented yet`);
}

/** The user id of a valid access token in `Authorization: Bearer <token>`. */
async function authenticate(request: IncomingMessage): Promise<string> {
  // TODO 2: verify the token (jwtVerify) with every rule of the README; any failure is a 401 with a
  //         WWW-Authenticate: Bearer ... header (new HttpError(401, message, { "www-authenticate": ... })).
  throw new HttpError(501, `GET /me (${request.headers.authorization ?? "no token"}) is not implemented yet`);
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
