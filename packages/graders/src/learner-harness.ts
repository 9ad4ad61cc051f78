// Runs inside the learner's (untrusted) process: imports the learner's entry module and serves its
// exported functions to the grader over HTTP. It decides nothing about the result: the grader, in the
// runner's process, checks what comes back and the state of the services.
//
//   node learner-harness.ts <entry file> [grade=<id>]   imports the entry at once
//   node learner-harness.ts --wait [environment=<id>]   a warm copy: Node is up and the server listens, and
//       the entry is imported when the runner sends POST /start {entry, env} with the start token it
//       gave in BACKEND_LABS_START_TOKEN (one start per process)
// both with BACKEND_LABS_RPC_PORT set; the trailing id is only there so `ps` shows what a process is for.
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";
import {
  type CallRequest,
  harnessStartRoute,
  type CallResponse,
  decode,
  encode,
  findUnsendable,
  type HarnessStartRequest,
  harnessRoutes,
  serializeError,
} from "./learner-protocol.ts";

/** Exit code that tells the runner the learner's module threw while it was being imported. */
export const importFailedExitCode = 70;
const maxRequestBytes = 8 * 1024 * 1024;

/**
 * Bytes written to stdout and stderr so far. They reach the runner through a pipe or a container stream,
 * behind the reply to a call; the runner reads this count to know when it has all of a test's output.
 */
let printedBytes = 0;
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
    const encoding = typeof rest[0] === "string" ? (rest[0] as BufferEncoding) : "utf8";
    printedBytes += typeof chunk === "string" ? Buffer.byteLength(chunk, encoding) : chunk.byteLength;
    return write(chunk, ...rest);
  };
}

/** The learner's module once imported; calls before that are refused. */
let learnerModule: Record<string, unknown> | undefined;
/** A warm copy's entry, once the runner has started it. */
const startRequest = Promise.withResolvers<string>();

async function main(): Promise<void> {
  const entry = process.argv[2];
  const port = Number(process.env.BACKEND_LABS_RPC_PORT);
  if (!entry || !Number.isInteger(port)) {
    process.stderr.write(
      "usage: BACKEND_LABS_RPC_PORT=<port> node learner-harness.ts <entry file> | --wait\n",
    );
    process.exit(2);
  }
  // Read once and removed, so the learner's code never finds it in process.env.
  const startToken = process.env.BACKEND_LABS_START_TOKEN;
  delete process.env.BACKEND_LABS_START_TOKEN;

  const server = createServer((request, response) => {
    const handled =
      entry === "--wait" && request.url === harnessStartRoute
        ? start(request, response, startToken)
        : handle(request, response);
    handled.catch((error: unknown) => {
      reply(response, 500, { ok: false, kind: "bad-request", error: serializeError(error) });
    });
  });
  // Until the module is imported, neither the server nor the runner's polling may keep Node alive: a
  // top-level await that can never settle must still end the process (exit code 13), as without a server.
  server.on("connection", (socket) => {
    if (!learnerModule) socket.unref();
  });
  server.listen(port, process.env.BACKEND_LABS_RPC_HOST ?? "127.0.0.1");
  // Awaited here, at the top level, so that an import that can never finish ends Node with exit code 13.
  await importLearnerModule(server, entry === "--wait" ? await startRequest.promise : entry);
}

async function importLearnerModule(server: Server, entry: string): Promise<void> {
  server.unref();
  try {
    learnerModule = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
    server.ref();
  } catch (error) {
    const { name, message, stack } = serializeError(error);
    process.stderr.write(`\n${learnerFrames(stack ?? `${name}: ${message}`)}\n`);
    process.exit(importFailedExitCode);
  }
}

let started = false;

/** A warm copy's one start: the environment the learner's code sees, then its entry module. */
async function start(
  request: IncomingMessage,
  response: ServerResponse,
  token: string | undefined,
): Promise<void> {
  const given = Buffer.from(request.headers.authorization ?? "");
  const expected = Buffer.from(`Bearer ${token}`);
  if (
    !token ||
    request.method !== "POST" ||
    given.length !== expected.length ||
    !timingSafeEqual(given, expected)
  ) {
    response.writeHead(403).end();
    return;
  }
  if (started) {
    response.writeHead(409).end();
    return;
  }
  started = true;
  const { entry, env } = JSON.parse(await readBody(request)) as HarnessStartRequest;
  Object.assign(process.env, env);
  // Answered before the import: the runner watches the copy start as it would a fresh process.
  response.writeHead(202, { connection: "close" }).end();
  startRequest.resolve(entry);
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method === "GET" && request.url === harnessRoutes.printed) {
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(printedBytes));
    return;
  }
  const exportsOf = learnerModule;
  if (!exportsOf) {
    response.writeHead(503, { connection: "close" }).end();
    return;
  }
  if (request.method === "GET" && request.url === harnessRoutes.mutantCoverage) {
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(takeMutantCoverage()));
    return;
  }
  if (request.method === "GET" && request.url === harnessRoutes.exports) {
    const names = Object.keys(exportsOf).filter((name) => typeof exportsOf[name] === "function");
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(names));
    return;
  }
  if (request.method !== "POST" || request.url !== harnessRoutes.call) {
    response.writeHead(404).end();
    return;
  }
  const { fn, args } = decode<CallRequest>(await readBody(request));
  const target = exportsOf[fn];
  if (typeof target !== "function") {
    const message = `the module does not export a function named \`${fn}\``;
    reply(response, 200, { ok: false, kind: "missing-export", error: { name: "MissingExport", message } });
    return;
  }
  let value: unknown;
  try {
    value = await (target as (...params: unknown[]) => unknown)(...args);
  } catch (error) {
    reply(response, 200, { ok: false, kind: "threw", error: serializeError(error) });
    return;
  }
  let body: string;
  try {
    const unsendable = findUnsendable(value);
    if (unsendable) throw new Error(`${unsendable} cannot be sent`);
    body = encode({ ok: true, value });
  } catch (error) {
    const message = `\`${fn}\` returned a value that cannot be sent back to the grader: ${serializeError(error).message}`;
    body = encode({ ok: false, kind: "unserializable", error: { name: "Unserializable", message } });
  }
  response.writeHead(200, { "content-type": "application/json" }).end(body);
}

/**
 * Mutation testing (`labs mutate`) grades a solution instrumented by StrykerJS, which counts in
 * globalThis.__stryker__ which mutants' code ran. Returns those seen since the last call and starts over;
 * for code that is not instrumented, none.
 */
function takeMutantCoverage(): string[] {
  const stryker = (globalThis as { __stryker__?: { mutantCoverage?: { static: Record<string, number> } } })
    .__stryker__;
  const seen = Object.keys(stryker?.mutantCoverage?.static ?? {});
  if (stryker?.mutantCoverage) stryker.mutantCoverage.static = {};
  return seen;
}

/** The learner needs the frames of their own code, not the harness's or Node's. */
function learnerFrames(stack: string): string {
  const harnessFile = import.meta.filename;
  return stack
    .split("\n")
    .filter(
      (line) => !/^\s+at /.test(line) || !(line.includes(harnessFile) || line.includes("node:internal")),
    )
    .join("\n");
}

function reply(response: ServerResponse, status: number, body: CallResponse): void {
  response.writeHead(status, { "content-type": "application/json" }).end(encode(body));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxRequestBytes) throw new Error("request body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

if (import.meta.main) await main();
