import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { graphql } from "graphql";
import { createContext, schema } from "./schema.ts";

// This file is given: the GraphQL-over-HTTP transport is not what this lab is about. It builds a fresh
// context with createContext() for every request and runs the request against your schema.

interface GraphQLRequest {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

async function readRequest(request: IncomingMessage): Promise<GraphQLRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 100 * 1024) throw new HttpError(413, "the body must be at most 100 KiB");
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "the body is not valid JSON");
  }
  const { query, variables, operationName } = (body ?? {}) as Record<string, unknown>;
  if (typeof query !== "string") throw new HttpError(400, "the body must hold the query as a string");
  if (
    variables !== undefined &&
    variables !== null &&
    (typeof variables !== "object" || Array.isArray(variables))
  ) {
    throw new HttpError(400, "variables must be an object");
  }
  if (operationName !== undefined && operationName !== null && typeof operationName !== "string") {
    throw new HttpError(400, "operationName must be a string");
  }
  return {
    query,
    ...(variables ? { variables: variables as Record<string, unknown> } : {}),
    ...(operationName ? { operationName } : {}),
  };
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  if (path !== "/graphql") throw new HttpError(404, "not found: the API is POST /graphql");
  if (request.method !== "POST") {
    response.setHeader("allow", "POST");
    throw new HttpError(405, "use POST");
  }
  const { query, variables, operationName } = await readRequest(request);
  const result = await graphql({
    schema,
    source: query,
    variableValues: variables,
    operationName,
    contextValue: createContext(),
  });
  // No "data" at all means the request never ran: a syntax error, an unknown field, a bad variable.
  sendJson(response, "data" in result ? 200 : 400, result);
}

const server = createServer((request, response) => {
  handle(request, response).catch((error: unknown) => {
    if (error instanceof HttpError) {
      sendJson(response, error.status, { errors: [{ message: error.message }] });
      return;
    }
    console.error("unexpected error:", error);
    if (!response.headersSent) sendJson(response, 500, { errors: [{ message: "internal server error" }] });
    else response.destroy();
  });
});

server.listen(Number(process.env.PORT));
