import { afterEach, expect, it } from "vitest";
import { learner, startLearner, task, uid } from "@backend-labs/graders";
import { ChatClient, closeAllClients, connectMany, publishToRoom, subscribersBecome } from "./helpers.ts";

afterEach(() => closeAllClients());

/** The flood: far more than a socket's kernel buffers hold, so a client that stops reading falls behind. */
const FLOOD_MESSAGES = 256;
const FLOOD_MESSAGE_BYTES = 64 * 1024;
/** Published at once, then the grader waits for the fast client: bursts stay well below the 1 MiB limit. */
const FLOOD_ROUND = 4;
/** The heartbeat interval of the instance the heartbeat test starts. */
const HEARTBEAT_MS = 400;

task(4, "Drop consumers that do not keep up", () => {
  it("a client that stops reading is terminated, while a fast client in its room gets every message", async () => {
    const room = uid("firehose");
    const slowOnly = uid("slow-only");
    const [fast, slow] = await connectMany(learner(), 2);
    expect(await fast!.join(room), "the fast client joins the room").toBe(true);
    expect(await slow!.join(room), "the slow client joins the room").toBe(true);
    expect(await slow!.join(slowOnly), "the slow client joins a second room of its own").toBe(true);
    // From now on the slow client reads nothing: the kernel buffers fill up, then the server's own queue grows.
    slow!.socket.pause();

    const text = "x".repeat(FLOOD_MESSAGE_BYTES);
    const ids = Array.from({ length: FLOOD_MESSAGES }, (_, i) => `flood-${i}`);
    // Published in rounds the fast client keeps up with, so no buffer but the slow client's ever grows.
    for (let round = 0; round < FLOOD_MESSAGES; round += FLOOD_ROUND) {
      const batch = ids.slice(round, round + FLOOD_ROUND);
      await Promise.all(batch.map((id) => publishToRoom(room, id, text)));
      if (!(await fast!.waitFor((message) => message.id === batch.at(-1)))) break;
    }
    const fastGot = ids.filter((id) => fast!.messages(id).length === 1).length;
    expect(
      fastGot,
      `the fast client received none of the messages published on the room's channel (with from: "grader"): ` +
        "deliver everything that arrives on room:R to the room's members, whoever published it",
    ).toBeGreaterThan(0);
    expect(
      fast!.closed,
      `the fast client reads everything and received bursts of at most ${(FLOOD_ROUND * FLOOD_MESSAGE_BYTES) / 1024} ` +
        "KiB, yet it was disconnected: only a socket with more than 1 MiB queued is a slow consumer",
    ).toBe(false);
    expect(
      fastGot,
      `the fast client must receive all ${FLOOD_MESSAGES} messages: a slow client must not hold back the others ` +
        "(never pause the shared subscriber for one socket), and dropping the slow one must not unsubscribe a " +
        "room that still has members",
    ).toBe(FLOOD_MESSAGES);

    // Still not reading: a socket the server dropped with terminate() is gone at once and has left its rooms.
    // One ended with close() waits (up to 30 s) for a close handshake the client is not reading.
    const ownRoomGone = (await subscribersBecome(slowOnly, 0, 2_000)) === 0;

    slow!.socket.resume();
    const closed = await slow!.waitClosed(2_000);
    const delivered = ids.filter((id) => slow!.messages(id).length > 0).length;
    expect(
      closed,
      `a client that read nothing while ${(FLOOD_MESSAGES * FLOOD_MESSAGE_BYTES) / 2 ** 20} MiB were sent to it ` +
        `got ${delivered} of ${FLOOD_MESSAGES} messages when it resumed and is still connected: the server queued ` +
        "its backlog in memory without bound. Check socket.bufferedAmount before each send and terminate() a " +
        "socket with more than 1 MiB queued",
    ).toBe(true);
    expect(
      delivered,
      "a dropped slow consumer must not have received the whole flood: it was cut off when its queue passed 1 MiB",
    ).toBeLessThan(FLOOD_MESSAGES);

    expect(
      ownRoomGone,
      "the slow client was dropped, but while it still read nothing its own room stayed subscribed: the server " +
        "ended it with close(), which queues a close frame behind the backlog and waits up to 30 s for the " +
        "client's answer, keeping the socket, its rooms and its backlog. terminate() it: it is gone at once",
    ).toBe(true);
    expect(await fast!.leave(room), "the fast client leaves").toBe(true);
    expect(
      await subscribersBecome(room, 0),
      "the fast client was the room's last member once the slow one was dropped: a terminated socket must leave " +
        "its rooms too (clean up on the socket's close event), so the instance unsubscribes",
    ).toBe(0);
  });
});

task(5, "Detect dead connections with heartbeats", () => {
  it("a client that stops answering pings is terminated at the next tick and leaves its rooms; one that answers stays", async () => {
    const instance = await startLearner({ HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS) });
    const room = uid("heartbeat");
    const deadRoom = uid("vanished");
    const [healthy] = await connectMany(instance, 1);
    // A peer that vanished (lost network, crashed NAT) sends nothing at all, not even a pong.
    const dead = await ChatClient.connect(instance, { autoPong: false });
    // A silent client that never joined a room.
    const idle = await ChatClient.connect(instance, { autoPong: false });
    expect(dead && idle, 'a client of /ws must get {"type":"welcome"} first').toBeTruthy();
    expect(await healthy!.join(room), "the healthy client joins").toBe(true);
    expect(await dead!.join(deadRoom), "the silent client joins a room of its own").toBe(true);
    // From now on it reads nothing either: no pong, and no answer to a close frame.
    dead!.socket.pause();

    const started = Date.now();
    const deadGone = (await subscribersBecome(deadRoom, 0, HEARTBEAT_MS * 2 + 2_000)) === 0;
    const idleClosed = await idle!.waitClosed(Math.max(HEARTBEAT_MS * 2 + 2_000 - (Date.now() - started), 0));
    dead!.socket.resume();
    const deadClosed = await dead!.waitClosed(1_000);
    expect(
      deadClosed || deadGone,
      `with HEARTBEAT_INTERVAL_MS=${HEARTBEAT_MS} a client that never answers a ping must be terminated within ` +
        `two intervals; it was still connected after ${Date.now() - started} ms. Ping every socket each ` +
        "interval, and terminate() those that did not answer the previous ping",
    ).toBe(true);
    expect(
      deadGone,
      "the silent client, which had stopped reading, was not terminated: it stayed in its room. close() sends a " +
        "close frame and waits up to 30 s for an answer a vanished peer never sends; terminate() ends the " +
        "connection at once, and its close event takes it out of its rooms",
    ).toBe(true);
    expect(
      idleClosed,
      "a silent client that never joined a room must be dropped too: ping every socket, not only room members",
    ).toBe(true);
    expect(
      idle!.pings,
      `the silent client was pinged ${idle!.pings} times before it was dropped: at each tick, a socket that did ` +
        "not answer the previous ping is terminated, not pinged again (so it is gone within two intervals)",
    ).toBe(1);

    // Give the healthy client at least three intervals in all.
    await healthy!.waitClosed(Math.max(HEARTBEAT_MS * 3 - (Date.now() - started), 0));
    expect(
      healthy!.closed,
      "a client that answers every ping must stay connected: mark a socket alive when its pong arrives",
    ).toBe(false);
    expect(
      healthy!.pings,
      `the healthy client must be pinged every ${HEARTBEAT_MS} ms (read HEARTBEAT_INTERVAL_MS from the environment)`,
    ).toBeGreaterThanOrEqual(2);

    expect(await healthy!.leave(room), "the healthy client leaves").toBe(true);
    expect(
      await subscribersBecome(room, 0),
      "the room has no members left: the instance unsubscribes once the healthy client leaves",
    ).toBe(0);
  });
});
