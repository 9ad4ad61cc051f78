import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { Redis } from "ioredis";
import { type RawData, WebSocket, WebSocketServer } from "ws";

/** How often every socket is pinged. A socket that has not answered the previous ping by then is dead. */
const HEARTBEAT_INTERVAL_MS = Number(process.env.HEARTBEAT_INTERVAL_MS ?? 30_000);
/** More than this queued for a socket and not yet taken by the network: a consumer that does not keep up. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const MAX_TEXT_LENGTH = 2000;
const roomPattern = /^[a-z0-9-]{1,64}$/;

/** The Redis channel of a room: every instance with members in the room subscribes to it. */
const channelOf = (room: string): string => `room:${room}`;
const roomOf = (channel: string): string => channel.slice("room:".length);

type Command =
  { type: "join" | "leave"; room: string } | { type: "say"; room: string; id: string; text: string };

/** What travels through Redis between instances, as JSON. `from` is the sender's connection id. */
interface Published {
  room: string;
  id: string;
  text: string;
  from: string;
}

/** A frame's payload as text: ws hands it over as a Buffer, an ArrayBuffer or Buffer fragments. */
function textOf(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString("utf8");
  return data.toString("utf8");
}

/** A command, or the reason it is refused. */
function parseCommand(data: RawData, isBinary: boolean): Command | string {
  if (isBinary) return "send commands as JSON text frames";
  let value: unknown;
  try {
    value = JSON.parse(textOf(data));
  } catch {
    return "a command must be valid JSON";
  }
  if (typeof value !== "object" || value === null) return "a command must be a JSON object";
  const { type, room, id, text } = value as Record<string, unknown>;
  if (type !== "join" && type !== "leave" && type !== "say") return `unknown command type: ${String(type)}`;
  if (typeof room !== "string" || !roomPattern.test(room)) {
    return "room must be 1 to 64 characters of a-z, 0-9 and -";
  }
  if (type !== "say") return { type, room };
  if (typeof id !== "string" || id === "" || id.length > 100)
    return "id must be a string of 1 to 100 characters";
  if (typeof text !== "string" || text === "" || text.length > MAX_TEXT_LENGTH) {
    return `text must be a string of 1 to ${MAX_TEXT_LENGTH} characters`;
  }
  return { type, room, id, text };
}

interface Connection {
  id: string;
  socket: WebSocket;
  rooms: Set<string>;
}

const redisUrl = process.env.REDIS_URL;
if (!redisUrl) throw new Error("REDIS_URL is not set");
// TODO 2: the Redis connections this instance needs. A connection that has subscribed to something can run
// nothing but (UN)SUBSCRIBE and PING.

/** Every frame to a client goes out through here. */
function send(connection: Connection, frame: string): void {
  // TODO 4: a client that does not read makes socket.bufferedAmount grow without end.
  if (connection.socket.readyState !== WebSocket.OPEN) return;
  connection.socket.send(frame);
}

function reply(connection: Connection, message: Record<string, unknown>): void {
  send(connection, JSON.stringify(message));
}

async function join(connection: Connection, room: string): Promise<void> {
  // TODO 1: remember the member; TODO 3: make sure this instance is subscribed to the room's channel,
  // then answer { type: "joined", room }.
  throw new Error(`join ${room} is not implemented yet (${connection.id})`);
}

async function leave(connection: Connection, room: string): Promise<void> {
  // TODO 1: forget the member and answer { type: "left", room }; TODO 3: unsubscribe after the room's last
  // member on this instance is gone.
  throw new Error(`leave ${room} is not implemented yet (${connection.id})`);
}

async function say(
  connection: Connection,
  command: { room: string; id: string; text: string },
): Promise<void> {
  // TODO 1: only a member may say something; answer { type: "sent", room, id }.
  // TODO 2: every member of the room, on every instance, gets it (except this socket).
  throw new Error(`say in ${command.room} is not implemented yet (${connection.id})`);
}

function handle(connection: Connection, command: Command): Promise<void> {
  switch (command.type) {
    case "join":
      return join(connection, command.room);
    case "leave":
      return leave(connection, command.room);
    case "say":
      return say(connection, command);
  }
}

const server = createServer((_request, response) => {
  response.writeHead(404, { "content-type": "text/plain" }).end("WebSocket endpoint: /ws\n");
});
const sockets = new WebSocketServer({ server, path: "/ws", maxPayload: 64 * 1024 });

sockets.on("connection", (socket) => {
  const connection: Connection = { id: randomUUID(), socket, rooms: new Set() };
  socket.on("message", (data, isBinary) => {
    const command = parseCommand(data, isBinary);
    if (typeof command === "string") {
      reply(connection, { type: "error", message: command });
      return;
    }
    handle(connection, command).catch((error: unknown) => {
      console.error(`${command.type} failed:`, error);
      reply(connection, {
        type: "error",
        ...("id" in command ? { id: command.id } : {}),
        message: `${command.type} failed, try again`,
      });
    });
  });
  socket.on("close", () => {
    // TODO 3: a socket can end without a leave (closed tab, lost network, terminated by us).
  });
  socket.on("error", (error) => console.error("socket error:", error.message));
  reply(connection, { type: "welcome", connectionId: connection.id });
});

// TODO 5: heartbeats: ping every socket every HEARTBEAT_INTERVAL_MS, and terminate those that did not answer
// the previous ping.

server.listen(Number(process.env.PORT));
