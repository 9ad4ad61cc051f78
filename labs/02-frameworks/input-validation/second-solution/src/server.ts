import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import pg from "pg";
import { type FieldError, type NewMember, pointer, validateMember } from "./validate-member.ts";

/** The largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 16 * 1024;

const connectionString = process.env.DATABASE_URL;
if (!connectionString) throw new Error("DATABASE_URL is not set");
const pool = new pg.Pool({ connectionString });
// An idle connection that breaks is reported here; unhandled, it kills the process.
pool.on("error", (error) => console.error("postgres pool error:", error.message));

/** An RFC 9457 problem: the status, a title, and for bad input the list of what is wrong where. */
class Problem extends Error {
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    title: string,
    options: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(title);
    this.status = status;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

function tooLarge(): Problem {
  return new Problem(413, `The body must be at most ${MAX_BODY_BYTES} bytes`, {
    headers: { Connection: "close" },
  });
}

function isJson(request: IncomingMessage): boolean {
  const contentType = request.headers["content-type"];
  if (contentType === undefined) return false;
  return contentType.split(";")[0]!.trim().toLowerCase() === "application/json";
}

/** Reads the body, refusing it (413) as soon as it passes MAX_BODY_BYTES; never holds more than that. */
function readBody(request: IncomingMessage): Promise<Buffer> {
  const announced = request.headers["content-length"];
  if (announced !== undefined && Number(announced) > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const onData = (chunk: Buffer): void => {
      if (settled) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        settled = true;
        chunks.length = 0;
        request.off("data", onData);
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    request.on("data", onData);
    request.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks));
    });
    request.on("error", (error) => {
      if (settled) return;
      settled = true;
      reject(error);
    });
  });
}

interface MemberRow {
  id: string;
  email: string;
  display_name: string;
  age: number | null;
  bio: string;
  tags: string[];
}

async function insertMember(member: NewMember): Promise<MemberRow | undefined> {
  const { rows } = await pool.query<MemberRow>(
    `INSERT INTO members (email, display_name, age, bio, tags) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (email) DO NOTHING
     RETURNING id, email, display_name, age, bio, tags`,
    [member.email, member.displayName, member.age, member.bio, member.tags],
  );
  return rows[0];
}

async function createMember(request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (!isJson(request)) throw new Problem(415, "The body must be application/json");
  const raw = await readBody(request);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new Problem(400, "The body is not valid JSON", {
      errors: [{ pointer: "", detail: "must be valid JSON" }],
    });
  }
  const result = validateMember(body);
  if (!result.ok) throw new Problem(400, "The body is not a valid member", { errors: result.errors });

  const row = await insertMember(result.member);
  if (!row) {
    throw new Problem(409, "This email is already registered", {
      errors: [{ pointer: pointer("email"), detail: "is already registered" }],
    });
  }
  const member = {
    id: Number(row.id),
    email: row.email,
    displayName: row.display_name,
    age: row.age,
    bio: row.bio,
    tags: row.tags,
  };
  response
    .writeHead(201, { "Content-Type": "application/json", Location: `/members/${member.id}` })
    .end(JSON.stringify(member));
}

function sendProblem(request: IncomingMessage, response: ServerResponse, problem: Problem): void {
  const body = {
    type: "about:blank",
    title: problem.message,
    status: problem.status,
    ...(problem.errors && { errors: problem.errors }),
  };
  response
    .writeHead(problem.status, { ...problem.headers, "Content-Type": "application/problem+json" })
    .end(JSON.stringify(body));
  // Discard whatever of the body is still arriving instead of leaving it unread in the socket.
  request.resume();
}

async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const { pathname } = new URL(request.url ?? "/", "http://localhost");
  if (pathname !== "/members") throw new Problem(404, `No route for ${pathname}`);
  if (request.method !== "POST") {
    throw new Problem(405, `${request.method} is not allowed here`, { headers: { Allow: "POST" } });
  }
  await createMember(request, response);
}

const server = createServer((request, response) => {
  route(request, response).catch((error: unknown) => {
    if (error instanceof Problem) return sendProblem(request, response, error);
    console.error(error);
    sendProblem(request, response, new Problem(500, "Internal error"));
  });
});

server.listen(Number(process.env.PORT));

function shutdown(): void {
  server.close(() => {
    void pool.end();
  });
}
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
