// Shared by the grader files: WebSocket clients of the learner's instances, and the Redis side of the
// fan-out (channels, subscriber counts, messages on the wire) read with the grader's admin connection.
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { WebSocket } from "ws";
import { gradingContext, type LearnerInstance, redis, uid } from "@backend-labs/graders";

export interface ServerMessage {
  type: string;
  [field: string]: unknown;
}

const openClients = new Set<ChatClient>();

/** Every connectionId each instance (by its URL) has handed out in its welcomes so far. */
export const connectionIds = new Map<string, Set<string>>();

/** One WebSocket client of one instance, recording everything it receives. */
export class ChatClient {
  readonly socket: WebSocket;
  readonly received: ServerMessage[] = [];
  /** When each received message arrived (Date.now()). */
  readonly arrivedAt = new WeakMap<ServerMessage, number>();
  connectionId = "";
  pings = 0;
  closeCode: number | undefined;
  private readonly listeners = new Set<() => void>();

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on("message", (data) => {
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString()
        : data instanceof ArrayBuffer
          ? Buffer.from(data).toString()
          : data.toString();
      let message: ServerMessage;
      try {
        message = JSON.parse(text) as ServerMessage;
      } catch {
        message = { type: "(not JSON)", raw: text.slice(0, 200) };
      }
      this.received.push(message);
      this.arrivedAt.set(message, Date.now());
      this.notify();
    });
    socket.on("ping", () => this.pings++);
    socket.on("close", (code) => {
      this.closeCode = code;
      openClients.delete(this);
      this.notify();
    });
    socket.on("error", () => undefined);
  }

  /** Connects to /ws and waits for the welcome; undefined when that does not happen within 3 s. */
  static async connect(
    instance: LearnerInstance,
    options: { autoPong?: boolean } = {},
  ): Promise<ChatClient | undefined> {
    const url = instance.url("/ws").replace(/^http/, "ws");
    const socket = new WebSocket(url, { autoPong: options.autoPong ?? true, handshakeTimeout: 3_000 });
    const client = new ChatClient(socket);
    openClients.add(client);
    const welcome = await client.waitFor((message) => message.type === "welcome");
    if (typeof welcome?.connectionId !== "string") return undefined;
    client.connectionId = welcome.connectionId;
    const given = connectionIds.get(instance.url("/")) ?? new Set<string>();
    connectionIds.set(instance.url("/"), given.add(welcome.connectionId));
    return client;
  }

  get closed(): boolean {
    return this.closeCode !== undefined;
  }

  send(command: unknown): void {
    this.socket.send(typeof command === "string" ? command : JSON.stringify(command));
  }

  /**
   * The first message received so far (from index `from` on), or from now on, that matches; undefined after
   * timeoutMs or a close.
   */
  async waitFor(
    matches: (message: ServerMessage) => boolean,
    timeoutMs = 2_000,
    from = 0,
  ): Promise<ServerMessage | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.slice(from).find(matches);
      if (found || this.closed || Date.now() >= deadline) return found;
      await this.changed(deadline - Date.now());
    }
  }

  /** Sends join and waits for `joined`; false when an error or nothing comes instead. */
  join(room: string): Promise<boolean> {
    return this.command({ type: "join", room }, "joined");
  }

  /** Sends leave and waits for `left`; false when an error or nothing comes instead. */
  leave(room: string): Promise<boolean> {
    return this.command({ type: "leave", room }, "left");
  }

  private async command(command: { type: string; room: string }, answer: string): Promise<boolean> {
    const from = this.received.length;
    this.send(command);
    const reply = await this.waitFor(
      (message) => (message.type === answer && message.room === command.room) || message.type === "error",
      2_000,
      from,
    );
    return reply?.type === answer;
  }

  /** Sends say and waits for the `sent` (or error) answering it. */
  async say(room: string, text: string): Promise<{ id: string; answer: ServerMessage | undefined }> {
    const id = uid("msg");
    this.send({ type: "say", room, id, text });
    const answer = await this.waitFor(
      (message) => (message.type === "sent" || message.type === "error") && message.id === id,
    );
    return { id, answer };
  }

  /** The chat messages received with this id. */
  messages(id: string): ServerMessage[] {
    return this.received.filter((message) => message.type === "message" && message.id === id);
  }

  count(type: string): number {
    return this.received.filter((message) => message.type === type).length;
  }

  /** Waits until the server has closed the connection; false if it is still open after timeoutMs. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await this.changed(deadline - Date.now());
    return this.closed;
  }

  close(): void {
    this.socket.terminate();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  private changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(timeoutMs, 0));
      this.listeners.add(done);
    });
  }
}

/** Connects `count` clients; the test fails with a clear message if any of them gets no welcome. */
export async function connectMany(instance: LearnerInstance, count: number): Promise<ChatClient[]> {
  const clients = await Promise.all(Array.from({ length: count }, () => ChatClient.connect(instance)));
  if (clients.some((client) => !client)) {
    throw new Error(
      "a WebSocket client of /ws got no welcome within 3 s: on each connection, send " +
        '{"type":"welcome","connectionId":"..."} first',
    );
  }
  return clients as ChatClient[];
}

/** Ends every client the test opened. */
export function closeAllClients(): void {
  for (const client of openClients) client.close();
  openClients.clear();
}

export const channelOf = (room: string): string => `room:${room}`;

/** How many Redis connections are subscribed to the room's channel (PUBSUB NUMSUB). */
export async function subscribers(room: string): Promise<number> {
  const reply = (await redis().call("PUBSUB", "NUMSUB", channelOf(room))) as [string, number];
  return Number(reply[1]);
}

/** Polls the subscriber count until it equals `expected` or timeoutMs passes; returns the last count. */
export async function subscribersBecome(room: string, expected: number, timeoutMs = 1_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const count = await subscribers(room);
    if (count === expected || Date.now() >= deadline) return count;
    await sleep(20);
  }
}

/** The channels with at least one subscriber that match the pattern (PUBSUB CHANNELS). */
export async function activeChannels(pattern: string): Promise<string[]> {
  return (await redis().call("PUBSUB", "CHANNELS", pattern)) as string[];
}

/**
 * Listens to every room channel with PSUBSCRIBE on a connection of its own. A pattern subscription does
 * not count in PUBSUB NUMSUB, so it does not disturb the subscriber counts the tests check.
 */
export async function tapRooms(): Promise<{
  /** The first message on a room channel whose payload contains `text`, waiting up to 2 s for it. */
  find: (text: string) => Promise<{ channel: string; payload: string } | undefined>;
  stop: () => Promise<void>;
}> {
  const tap = new Redis(gradingContext().services.redis!.adminUrl);
  const seen: { channel: string; payload: string }[] = [];
  tap.on("pmessage", (_pattern: string, channel: string, payload: string) => seen.push({ channel, payload }));
  await tap.psubscribe("room:*");
  return {
    find: async (text) => {
      const deadline = Date.now() + 2_000;
      for (;;) {
        const found = seen.find((entry) => entry.payload.includes(text));
        if (found || Date.now() >= deadline) return found;
        await sleep(10);
      }
    },
    stop: async () => {
      await tap.quit().catch(() => undefined);
    },
  };
}

/** Publishes a chat message straight to the room's channel, in the wire format of the README. */
export async function publishToRoom(room: string, id: string, text: string): Promise<number> {
  return redis().publish(channelOf(room), JSON.stringify({ room, id, text, from: "grader" }));
}

/**
 * Suspends every Redis client's commands for `ms` (CLIENT PAUSE ... ALL; the pause ends by itself). Returns
 * the earliest moment the pause can end: commands sent to Redis meanwhile, SUBSCRIBE and PUBLISH included,
 * are answered only after it, so an answer that depends on them cannot arrive before.
 */
export async function pauseRedis(ms: number): Promise<number> {
  const sent = Date.now();
  await redis().call("CLIENT", "PAUSE", String(ms), "ALL");
  return sent + ms;
}
