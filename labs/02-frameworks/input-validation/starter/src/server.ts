import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import pg from "pg";
import { type FieldError, validateMember } from "./validate-member.ts";

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

async function createMember(request: IncomingMessage, response: ServerResponse): Promise<void> {
  // TODO 3: refuse a body that is not application/json (415), and one over MAX_BODY_BYTES (413) as soon as
  //         you know, without reading the rest of it. Then parse the JSON (400 when it is not JSON).
  // TODO 1-2: validateMember(), then 400 with every error, or INSERT the member and answer 201 + Location.
  // TODO 4: every value goes into the SQL as a parameter ($1, $2, ...).
  void pool;
  void validateMember;
  void response;
  throw new Problem(501, `creating members is not implemented yet (${request.method} ${request.url})`);
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
