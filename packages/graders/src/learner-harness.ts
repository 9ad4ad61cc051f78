// Runs inside the learner's (untrusted) process: imports the learner's entry module and serves its
// exported functions to the grader over HTTP. It decides nothing about the result: the grader, in the
// runner's process, checks what comes back and the state of the services.
//
//   node learner-harness.ts <entry file> [grade=<id>]    with BACKEND_LABS_RPC_PORT set
// (the grade id is only there so `ps` shows which grade a process belongs to)
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";
import {
  type CallRequest,
  type CallResponse,
  decode,
  encode,
  findUnsendable,
  harnessRoutes,
  serializeError,
} from "./learner-protocol.ts";

/** Exit code that tells the runner the learner's module threw while it was being imported. */
export const importFailedExitCode = 70;
const maxRequestBytes = 8 * 1024 * 1024;

async function main(): Promise<void> {
  const entry = process.argv[2];
  const port = Number(process.env.BACKEND_LABS_RPC_PORT);
  if (!entry || !Number.isInteger(port)) {
    process.stderr.write("usage: BACKEND_LABS_RPC_PORT=<port> node learner-harness.ts <entry file>\n");
    process.exit(2);
  }

  let learnerModule: Record<string, unknown>;
  try {
    learnerModule = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  } catch (error) {
    const { name, message, stack } = serializeError(error);
    process.stderr.write(`\n${learnerFrames(stack ?? `${name}: ${message}`)}\n`);
    process.exit(importFailedExitCode);
  }

  const server = createServer((request, response) => {
    handle(learnerModule, request, response).catch((error: unknown) => {
      reply(response, 500, { ok: false, kind: "bad-request", error: serializeError(error) });
    });
  });
  server.listen(port, process.env.BACKEND_LABS_RPC_HOST ?? "127.0.0.1");
}

async function handle(
  learnerModule: Record<string, unknown>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (request.method === "GET" && request.url === harnessRoutes.exports) {
    const names = Object.keys(learnerModule).filter((name) => typeof learnerModule[name] === "function");
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(names));
    return;
  }
  if (request.method !== "POST" || request.url !== harnessRoutes.call) {
    response.writeHead(404).end();
    return;
  }
  const { fn, args } = decode<CallRequest>(await readBody(request));
  const target = learnerModule[fn];
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
