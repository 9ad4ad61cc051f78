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
  /** Answered the last ping. */
  alive: boolean;
}

const redisUrl = process.env.REDIS_URL;
if (!redisUrl) throw new Error("REDIS_URL is not set");
// A connection in subscriber mode can run nothing but (UN)SUBSCRIBE and PING: publishing needs another one.
// One subscriber per instance, shared by all its sockets: Redis sends each message once per instance.
const publisher = new Redis(redisUrl);
const subscriber = new Redis(redisUrl);
publisher.on("error", (error: Error) => console.error("redis publisher:", error.message));
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
    reply(connection, { type: "error", id, message: `not in room ${room}: join it first` });
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
    handle(connection, command).catch((error: unknown) => {
      console.error(`${command.type} failed:`, error);
      reply(connection, {
        type: "error",
        ...("id" in command ? { id: command.id } : {}),
        message: `${command.type} failed, try again`,
      });
    });
  });
  // Fires for every way a socket ends: the client closed, the network died, we terminated it.
  socket.on("close", () => {
    connections.delete(connection);
    for (const room of [...connection.rooms]) {
      removeFromRoom(connection, room).catch((error: unknown) => console.error("unsubscribe failed:", error));
    }
  });
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
