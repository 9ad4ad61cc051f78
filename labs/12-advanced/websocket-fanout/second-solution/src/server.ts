import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { Redis } from "ioredis";
import { type RawData, WebSocket, WebSocketServer } from "ws";

/** How often every socket is pinged. A socket that has not answered the previous ping by then is dead. */
const HEARTBEAT_INTERVAL_MS = positiveOr(Number(process.env.HEARTBEAT_INTERVAL_MS ?? 30_000), 30_000);
/** More than this queued for a socket and not yet taken by the network: a consumer that does not keep up. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const MAX_TEXT_LENGTH = 2000;
const roomPattern = /^[a-z0-9-]{1,64}$/;

function positiveOr(value: number, fallback: number): number {
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

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
  /** The rooms this connection is a member of (joined, or joining: the subscription is being made). */
  rooms: Set<string>;
  /** The rooms whose `joined` was sent: only these receive messages and may be said to. */
  active: Set<string>;
  /** This connection's commands, one at a time, so that answers come in the order of the commands. */
  queue: Promise<void>;
  /** Whether it answered the last ping. */
  alive: boolean;
}

const redisUrl = process.env.REDIS_URL;
if (!redisUrl) throw new Error("REDIS_URL is not set");
// One connection to PUBLISH, and one subscriber for every room of this instance: a connection that has
// subscribed to something can run nothing but (UN)SUBSCRIBE and PING.
const publisher = new Redis(redisUrl);
const subscriber = new Redis(redisUrl);
publisher.on("error", (error: Error) => console.error("redis publisher error:", error.message));
subscriber.on("error", (error: Error) => console.error("redis subscriber error:", error.message));

/** The members of each room on this instance (joined or joining). */
const members = new Map<string, Set<Connection>>();
/** The channels this instance is subscribed to right now, by room. */
const subscribed = new Set<string>();
/** Per room, the subscription change in progress: changes of one room run one at a time. */
const roomChanges = new Map<string, Promise<void>>();

/**
 * Brings the subscription of one room in line with its membership as it is when the change runs: subscribed
 * while the room has members here, unsubscribed after the last one. Changes of a room are queued, so a join
 * and a leave waiting on Redis at the same time cannot interleave.
 */
function syncSubscription(room: string): Promise<void> {
  const previous = roomChanges.get(room) ?? Promise.resolve();
  const change = previous
    .catch(() => undefined)
    .then(async () => {
      const wanted = (members.get(room)?.size ?? 0) > 0;
      if (wanted && !subscribed.has(room)) {
        await subscriber.subscribe(channelOf(room));
        subscribed.add(room);
      } else if (!wanted && subscribed.has(room)) {
        await subscriber.unsubscribe(channelOf(room));
        subscribed.delete(room);
      }
    });
  roomChanges.set(room, change);
  void change
    .catch(() => undefined)
    .then(() => {
      if (roomChanges.get(room) === change) roomChanges.delete(room);
    });
  return change;
}

function addMember(connection: Connection, room: string): void {
  connection.rooms.add(room);
  let set = members.get(room);
  if (!set) members.set(room, (set = new Set()));
  set.add(connection);
}

/** Forgets the membership; true if the connection was a member. */
function removeMember(connection: Connection, room: string): boolean {
  connection.active.delete(room);
  if (!connection.rooms.delete(room)) return false;
  const set = members.get(room);
  set?.delete(connection);
  if (set && set.size === 0) members.delete(room);
  return true;
}

/** Unsubscribes (after the last member) without making the caller wait or fail. */
function syncInBackground(room: string): void {
  syncSubscription(room).catch((error: unknown) => {
    console.error(`unsubscribing from ${channelOf(room)} failed:`, error);
  });
}

/** What arrives on a room's channel, from this instance, another one or another service. */
subscriber.on("message", (channel: string, payload: string) => {
  if (!channel.startsWith("room:")) return;
  const room = roomOf(channel);
  let message: Partial<Published>;
  try {
    const value: unknown = JSON.parse(payload);
    if (typeof value !== "object" || value === null) throw new Error("not an object");
    message = value as Partial<Published>;
  } catch {
    console.error(`ignoring a message on ${channel} that is not a JSON object`);
    return;
  }
  const frame = JSON.stringify({
    type: "message",
    room,
    id: message.id,
    text: message.text,
    from: message.from,
  });
  for (const member of [...(members.get(room) ?? [])]) {
    if (member.id === message.from || !member.active.has(room)) continue;
    send(member, frame);
  }
});

/** Every frame to a client goes out through here. */
function send(connection: Connection, frame: string): void {
  if (connection.socket.readyState !== WebSocket.OPEN) return;
  if (connection.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
    // It is not reading: queueing more would only grow this process. Its 'close' cleans up its rooms.
    connection.socket.terminate();
    return;
  }
  connection.socket.send(frame);
}

function reply(connection: Connection, message: Record<string, unknown>): void {
  send(connection, JSON.stringify(message));
}

async function join(connection: Connection, room: string): Promise<void> {
  addMember(connection, room);
  try {
    await syncSubscription(room);
  } catch (error) {
    removeMember(connection, room);
    syncInBackground(room);
    throw error;
  }
  // The socket may have closed while Redis confirmed: then there is no one to tell.
  if (!connection.rooms.has(room)) return;
  connection.active.add(room);
  reply(connection, { type: "joined", room });
}

async function leave(connection: Connection, room: string): Promise<void> {
  if (removeMember(connection, room)) {
    try {
      await syncSubscription(room);
    } catch (error) {
      console.error(`unsubscribing from ${channelOf(room)} failed:`, error);
    }
  }
  reply(connection, { type: "left", room });
}

async function say(
  connection: Connection,
  command: { room: string; id: string; text: string },
): Promise<void> {
  if (!connection.active.has(command.room)) {
    reply(connection, {
      type: "error",
      id: command.id,
      message: `join ${command.room} before saying something in it`,
    });
    return;
  }
  const published: Published = {
    room: command.room,
    id: command.id,
    text: command.text,
    from: connection.id,
  };
  // Local members get it from the channel too: one path for every member, on every instance.
  await publisher.publish(channelOf(command.room), JSON.stringify(published));
  reply(connection, { type: "sent", room: command.room, id: command.id });
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
const connections = new Set<Connection>();

sockets.on("connection", (socket) => {
  const connection: Connection = {
    id: randomUUID(),
    socket,
    rooms: new Set(),
    active: new Set(),
    queue: Promise.resolve(),
    alive: true,
  };
  connections.add(connection);
  socket.on("pong", () => {
    connection.alive = true;
  });
  socket.on("message", (data, isBinary) => {
    const command = parseCommand(data, isBinary);
    connection.queue = connection.queue.then(async () => {
      if (typeof command === "string") {
        reply(connection, { type: "error", message: command });
        return;
      }
      try {
        await handle(connection, command);
      } catch (error) {
        console.error(`${command.type} failed:`, error);
        reply(connection, {
          type: "error",
          ...("id" in command ? { id: command.id } : {}),
          message: `${command.type} failed, try again`,
        });
      }
    });
  });
  socket.on("close", () => {
    // Closed tab, lost network, or terminated by us: the connection leaves all its rooms.
    connections.delete(connection);
    for (const room of [...connection.rooms]) {
      removeMember(connection, room);
      syncInBackground(room);
    }
  });
  socket.on("error", (error) => console.error("socket error:", error.message));
  reply(connection, { type: "welcome", connectionId: connection.id });
});

// Heartbeats: a socket that has not answered the previous ping by the next tick is dead.
const heartbeat = setInterval(() => {
  for (const connection of connections) {
    if (!connection.alive) {
      connection.socket.terminate();
      continue;
    }
    connection.alive = false;
    try {
      connection.socket.ping();
    } catch (error) {
      console.error("ping failed:", error);
      connection.socket.terminate();
    }
  }
}, HEARTBEAT_INTERVAL_MS);
sockets.on("close", () => clearInterval(heartbeat));

server.listen(Number(process.env.PORT));
