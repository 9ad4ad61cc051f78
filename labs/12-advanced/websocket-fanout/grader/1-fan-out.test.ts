import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeAll, expect, it } from "vitest";
import { learner, type LearnerInstance, startLearner, task, uid } from "@backend-labs/graders";
import {
  activeChannels,
  type ChatClient,
  channelOf,
  closeAllClients,
  connectionIds,
  connectMany,
  pauseRedis,
  publishToRoom,
  type ServerMessage,
  subscribers,
  subscribersBecome,
  tapRooms,
} from "./helpers.ts";

/** How long the tests that check what waits for Redis suspend it (CLIENT PAUSE). */
const REDIS_PAUSE_MS = 1_500;

/** A second instance of the server, as behind a load balancer: its clients share nothing with the first's. */
let second: LearnerInstance;

beforeAll(async () => {
  second = await startLearner();
});

afterEach(() => closeAllClients());

async function joinAll(clients: ChatClient[], room: string): Promise<void> {
  const joined = await Promise.all(clients.map((client) => client.join(room)));
  expect(
    joined.every(Boolean),
    `every client that sends {"type":"join","room":"${room}"} must get {"type":"joined","room":"${room}"} back`,
  ).toBe(true);
}

task(1, "Rooms on one instance", () => {
  it("a message reaches the other members of its room, not the sender's socket, not other rooms", async () => {
    const [alice, bob, carol, dave] = await connectMany(learner(), 4);
    const ids = [alice!, bob!, carol!, dave!].map((client) => client.connectionId);
    expect(new Set(ids).size, "each connection gets its own connectionId in its welcome").toBe(4);

    const room = uid("lobby");
    const otherRoom = uid("elsewhere");
    await joinAll([alice!, bob!], room);
    await joinAll([carol!, dave!], otherRoom);

    const hello = await alice!.say(room, "hello bob");
    expect(hello.answer, `say must be answered with {"type":"sent","room","id"} (the id of the say)`).toEqual(
      {
        type: "sent",
        room,
        id: hello.id,
      },
    );
    expect(
      await bob!.waitFor((message) => message.id === hello.id),
      'bob, in the same room, must receive {"type":"message","room","id","text","from"} where from is the ' +
        "sender's connectionId",
    ).toEqual({ type: "message", room, id: hello.id, text: "hello bob", from: alice!.connectionId });

    // Messages of one room reach an instance in the order they were published: once alice has bob's reply,
    // an echo of her own message would already be there.
    const back = await bob!.say(room, "hi alice");
    expect(
      await alice!.waitFor((message) => message.id === back.id),
      "alice must receive bob's reply in their room",
    ).toBeDefined();
    expect(
      alice!.messages(hello.id),
      "the sender's own socket must not get its message back (no echo): skip the connection whose id is `from`",
    ).toEqual([]);

    const aside = await dave!.say(otherRoom, "meanwhile");
    expect(
      await carol!.waitFor((message) => message.id === aside.id),
      "carol gets dave's message",
    ).toBeDefined();
    expect(
      [...carol!.messages(hello.id), ...carol!.messages(back.id)],
      `carol is only in ${otherRoom}: messages of ${room} must not reach her`,
    ).toEqual([]);
  });

  it("bad commands get an error and leave the connection usable", async () => {
    const [client] = await connectMany(learner(), 1);
    const room = uid("strict");
    const cases: [unknown, string][] = [
      ["this is not json", "a frame that is not JSON"],
      ["null", "JSON that is not a command object (null)"],
      [{ type: "dance", room }, "an unknown type"],
      [{ type: "join", room: "Not A Room!" }, "a room name outside [a-z0-9-]{1,64}"],
      [{ type: "join" }, "a join without a room"],
      [{ type: "say", room, id: "m-1", text: "" }, "an empty text"],
    ];
    for (const [command, what] of cases) {
      const before = client!.count("error");
      client!.send(command);
      expect(
        await client!.waitFor(() => client!.count("error") > before),
        `${what} must be answered with {"type":"error","message":...}, and the connection stays open`,
      ).toBeDefined();
    }
    const outsider = await client!.say(room, "let me in");
    expect(
      outsider.answer,
      "say to a room the connection has not joined must be refused with an error carrying the say's id",
    ).toMatchObject({ type: "error", id: outsider.id });
    expect(await client!.join(room), "after bad commands the same connection can still join a room").toBe(
      true,
    );
    expect(client!.closed, "a bad command must not close the connection").toBe(false);
  });

  it("a room of 64 characters and a text of 2000 are accepted; one character more is refused", async () => {
    const [client] = await connectMany(learner(), 1);
    const longest = `${uid("r")}${"a".repeat(64)}`.slice(0, 64);
    expect(
      await client!.join(longest),
      `a room name of 64 characters of a-z, 0-9 and - is valid: join "${longest}" must be answered with joined`,
    ).toBe(true);
    const full = await client!.say(longest, "y".repeat(2000));
    expect(full.answer, "a text of 2000 characters is valid: the say must be answered with sent").toEqual({
      type: "sent",
      room: longest,
      id: full.id,
    });
    const cases: [unknown, string][] = [
      [{ type: "join", room: `${longest}b` }, "a room name of 65 characters"],
      [{ type: "join", room: "under_score" }, 'a room name with a character outside a-z, 0-9 and - ("_")'],
      [{ type: "join", room: "" }, "an empty room name"],
      [{ type: "say", room: longest, id: uid("long"), text: "y".repeat(2001) }, "a text of 2001 characters"],
      [{ type: "say", room: longest, id: uid("empty"), text: "" }, "an empty text"],
      [{ type: "say", room: longest, id: uid("nan"), text: 42 }, "a text that is not a string"],
    ];
    for (const [command, what] of cases) {
      const from = client!.received.length;
      client!.send(command);
      const answer = await client!.waitFor(
        (message) => message.type === "error" || message.type === "joined" || message.type === "sent",
        2_000,
        from,
      );
      expect(
        answer?.type,
        `${what} must be refused with {"type":"error","message":...} (got ${JSON.stringify(answer) ?? "no answer"})`,
      ).toBe("error");
    }
    expect(client!.closed, "a refused command must not close the connection").toBe(false);
  });

  it("a message id of 100 characters is accepted; an empty, missing, non-string or 101-character id is refused", async () => {
    const [client] = await connectMany(learner(), 1);
    const room = uid("ids");
    expect(await client!.join(room), `join "${room}" must be answered with joined`).toBe(true);
    const answerTo = async (command: Record<string, unknown>): Promise<ServerMessage | undefined> => {
      const from = client!.received.length;
      client!.send({ type: "say", room, text: "hello", ...command });
      return client!.waitFor((message) => message.type === "sent" || message.type === "error", 2_000, from);
    };
    const longest = `${uid("id")}${"i".repeat(100)}`.slice(0, 100);
    expect(
      await answerTo({ id: longest }),
      "an id of 100 characters is valid: the say must be answered with sent, carrying that id",
    ).toEqual({ type: "sent", room, id: longest });
    const cases: [Record<string, unknown>, string][] = [
      [{ id: "" }, "an empty id"],
      [{ id: `${longest}x` }, "an id of 101 characters"],
      [{}, "a say without an id"],
      [{ id: 7 }, "an id that is not a string"],
    ];
    for (const [command, what] of cases) {
      const answer = await answerTo(command);
      expect(
        answer?.type,
        `${what} must be refused with {"type":"error","message":...}: id is 1 to 100 characters ` +
          `(got ${JSON.stringify(answer) ?? "no answer"})`,
      ).toBe("error");
    }
    expect(client!.closed, "a refused command must not close the connection").toBe(false);
  });

  it("after leave the connection may no longer say in the room; a leave of a room never joined is answered with left", async () => {
    const [client] = await connectMany(learner(), 1);
    const room = uid("goodbye");
    expect(await client!.join(room), `join "${room}" must be answered with joined`).toBe(true);
    expect(await client!.leave(room), 'leave must be answered with {"type":"left","room"}').toBe(true);
    const after = await client!.say(room, "still here?");
    expect(
      after.answer,
      "a say to a room the connection has left must be refused with an error carrying the say's id, like any " +
        "room it has not joined: leave ends the membership (forget the room in the connection's rooms too)",
    ).toMatchObject({ type: "error", id: after.id });
    const never = uid("never-joined");
    expect(
      await client!.leave(never),
      `a leave of a room the connection never joined must be answered with {"type":"left","room":"${never}"} ` +
        "too (there is nothing to forget), not with an error or a crash",
    ).toBe(true);
    expect(client!.closed, "a leave must not close the connection").toBe(false);
  });
});

task(2, "Fan out across instances through Redis", () => {
  it("a message said on one instance reaches the room's members on the other, through the room's channel", async () => {
    const tap = await tapRooms();
    try {
      const [alice] = await connectMany(learner(), 1);
      const [bob] = await connectMany(second, 1);
      const room = uid("across");
      await joinAll([alice!, bob!], room);

      const hello = await alice!.say(room, "from instance 1");
      expect(
        await bob!.waitFor((message) => message.id === hello.id),
        "bob is connected to the other instance: a message may only reach him through Redis. PUBLISH it to " +
          `${channelOf(room)}, and have every instance SUBSCRIBE to the channels of the rooms it has members in`,
      ).toEqual({ type: "message", room, id: hello.id, text: "from instance 1", from: alice!.connectionId });
      const wire = await tap.find(hello.id);
      expect(wire?.channel, `the message must be published on the room's channel, ${channelOf(room)}`).toBe(
        channelOf(room),
      );
      expect(
        JSON.parse(wire?.payload ?? "null") as unknown,
        "the payload on the channel is the JSON {room, id, text, from} of the README",
      ).toEqual({ room, id: hello.id, text: "from instance 1", from: alice!.connectionId });

      const id = uid("grader");
      await publishToRoom(room, id, "published by another service");
      for (const [name, client] of [
        ["alice", alice!],
        ["bob", bob!],
      ] as const) {
        expect(
          await client.waitFor((message) => message.id === id),
          `${name} must get a message that another service published on ${channelOf(room)}: deliver what comes ` +
            "from the channel, not only what this instance's own clients said",
        ).toEqual({ type: "message", room, id, text: "published by another service", from: "grader" });
      }
    } finally {
      await tap.stop();
    }
  });

  it("connection ids are unique across instances, so no member elsewhere is taken for the sender", async () => {
    await connectMany(learner(), 3);
    await connectMany(second, 3);
    const first = connectionIds.get(learner().url("/")) ?? new Set<string>();
    const shared = [...(connectionIds.get(second.url("/")) ?? [])].filter((id) => first.has(id));
    expect(
      shared,
      "both instances handed out these connectionIds. A message carries its sender's id in `from`, and every " +
        "instance skips the member with that id: a member on the other instance with the same id never gets " +
        "the message. A counter per process repeats on every instance; use an id unique everywhere (a UUID)",
    ).toEqual([]);
  });

  it("joined waits for the SUBSCRIBE and sent for the PUBLISH: neither comes while Redis is paused", async () => {
    const joining = await connectMany(learner(), 2);
    const room = uid("patience");
    const pausedUntil = await pauseRedis(REDIS_PAUSE_MS);
    // Two joins of a room this instance is not subscribed to yet: one SUBSCRIBE is pending for both.
    for (const client of joining) client.send({ type: "join", room });
    for (const client of joining) {
      const joined = await client.waitFor(
        (message) => message.type === "joined" && message.room === room,
        REDIS_PAUSE_MS + 3_000,
      );
      expect(joined, `join must be answered with {"type":"joined","room":"${room}"}`).toBeDefined();
      const early = pausedUntil - client.arrivedAt.get(joined!)!;
      expect(
        early,
        `joined arrived ${early} ms before Redis could answer the SUBSCRIBE (Redis was paused): a message ` +
          "published right after joined would be lost. Answer joined only once subscribe() has resolved, and " +
          "when another member's SUBSCRIBE of the room is still pending, wait for that one too",
      ).toBeLessThanOrEqual(100);
    }

    const [remote] = await connectMany(second, 1);
    await joinAll([remote!], room);
    const saidUntil = await pauseRedis(REDIS_PAUSE_MS);
    const id = uid("msg");
    joining[0]!.send({ type: "say", room, id, text: "are you there?" });
    const sent = await joining[0]!.waitFor(
      (message) => message.type === "sent" && message.id === id,
      REDIS_PAUSE_MS + 3_000,
    );
    expect(sent, 'say must be answered with {"type":"sent","room","id"}').toBeDefined();
    const early = saidUntil - joining[0]!.arrivedAt.get(sent!)!;
    expect(
      early,
      `sent arrived ${early} ms before Redis could answer the PUBLISH (Redis was paused): sent promises the ` +
        "message is on its way. Await publish() before answering sent",
    ).toBeLessThanOrEqual(100);
    expect(
      await remote!.waitFor((message) => message.id === id),
      "the member on the other instance receives the message once Redis is back",
    ).toMatchObject({ type: "message", room, id });
  });
});

task(3, "One subscription per room per instance, gone with the room's last member", () => {
  it("five members on two instances: the room's channel has exactly two subscribers", async () => {
    const room = uid("crowd");
    const onFirst = await connectMany(learner(), 3);
    const onSecond = await connectMany(second, 2);
    await joinAll([...onFirst, ...onSecond], room);
    expect(
      await subscribers(room),
      `PUBSUB NUMSUB ${channelOf(room)}: each instance with members in the room subscribes once, on one ` +
        "subscriber connection shared by all its sockets, and fans out to its local members itself. A " +
        "subscription per socket costs Redis a connection and a copy of every message per socket",
    ).toBe(2);
    const hello = await onFirst[0]!.say(room, "everyone?");
    for (const client of [...onFirst.slice(1), ...onSecond]) {
      expect(
        await client.waitFor((message) => message.id === hello.id),
        "every other member, on either instance, receives the message exactly once",
      ).toBeDefined();
    }
    expect(
      [...onFirst.slice(1), ...onSecond].map((client) => client.messages(hello.id).length),
      "each member must receive the message once, not once per subscription",
    ).toEqual([1, 1, 1, 1]);
  });

  it("the subscription stays while members remain and goes when the last one leaves or disconnects", async () => {
    const room = uid("dwindling");
    const ownRoom = uid("solo");
    const [stays, leaves] = await connectMany(learner(), 2);
    const [remote] = await connectMany(second, 1);
    await joinAll([stays!, leaves!, remote!], room);
    await joinAll([stays!], ownRoom);

    expect(await leaves!.leave(room), 'leave must be answered with {"type":"left","room"}').toBe(true);
    expect(
      await subscribers(room),
      "one of two members of instance 1 left: instance 1 still has a member, so it must stay subscribed",
    ).toBe(2);
    const hello = await remote!.say(room, "still there?");
    expect(
      await stays!.waitFor((message) => message.id === hello.id),
      "the member that stayed must still receive messages: unsubscribe only when the LAST local member leaves",
    ).toBeDefined();

    stays!.close();
    expect(
      await subscribersBecome(room, 1),
      "the last member on instance 1 disconnected without a leave: instance 1 must UNSUBSCRIBE from the room's " +
        "channel when the socket closes",
    ).toBe(1);
    expect(
      await subscribersBecome(ownRoom, 0),
      "the socket that disconnected was also the only member of a second room: a closed socket leaves every " +
        "room it was in, so that room's channel must be unsubscribed too",
    ).toBe(0);
    expect(await remote!.leave(room), "the remote member leaves").toBe(true);
    expect(
      await subscribersBecome(room, 0),
      "the room has no members left anywhere: no instance may stay subscribed to its channel (a subscription " +
        "per room ever used is a leak that grows with every room)",
    ).toBe(0);
    expect(await activeChannels(channelOf(room)), "PUBSUB CHANNELS must no longer list the room").toEqual([]);
  });

  it("a room emptied and joined again is subscribed again; a leave of a room never joined subscribes nothing", async () => {
    const [client] = await connectMany(learner(), 1);
    const room = uid("again");
    expect(await client!.join(room), `join "${room}" must be answered with joined`).toBe(true);
    expect(await client!.leave(room), 'leave must be answered with {"type":"left","room"}').toBe(true);
    expect(
      await subscribersBecome(room, 0),
      "the room's only member left: the instance must UNSUBSCRIBE from its channel",
    ).toBe(0);
    expect(await client!.join(room), `joining "${room}" again must be answered with joined`).toBe(true);
    expect(
      await subscribers(room),
      `the room has a member again: joined must come only once the instance is subscribed to ${channelOf(room)} ` +
        "again. After an UNSUBSCRIBE, forget that the room was subscribed, or the next join skips the SUBSCRIBE",
    ).toBe(1);
    const id = uid("back");
    await publishToRoom(room, id, "welcome back");
    expect(
      await client!.waitFor((message) => message.id === id),
      "a member of a room joined again must receive what is published on its channel",
    ).toMatchObject({ type: "message", room, id });

    const never = uid("never-joined");
    expect(await client!.leave(never), `a leave of "${never}" must be answered with left`).toBe(true);
    expect(
      await subscribers(never),
      `the connection left ${never} without ever joining it: no one is a member, so the instance must not be ` +
        "subscribed to its channel. Subscribe only while the room has members here",
    ).toBe(0);
    expect(
      await activeChannels(channelOf(never)),
      "PUBSUB CHANNELS must not list a room without members",
    ).toEqual([]);
  });

  it("a message that arrives just after the room's last member here left is skipped, and the instance keeps serving", async () => {
    const [leaving, other] = await connectMany(learner(), 2);
    const room = uid("late");
    const otherRoom = uid("unaffected");
    await joinAll([leaving!], room);
    await joinAll([other!], otherRoom);
    await pauseRedis(REDIS_PAUSE_MS);
    // Redis runs the commands it held back in the order they came: this PUBLISH before the instance's
    // UNSUBSCRIBE, so the message reaches the instance after its last member of the room is gone.
    const published = publishToRoom(room, uid("late-msg"), "just missed it");
    await sleep(200);
    leaving!.send({ type: "leave", room });
    const left = await leaving!.waitFor(
      (message) => (message.type === "left" && message.room === room) || message.type === "error",
      REDIS_PAUSE_MS + 3_000,
    );
    await published;
    expect(
      left?.type,
      "the leave was not answered with left: a message of the room arrived after its last member on this " +
        "instance had left (before Redis answered the UNSUBSCRIBE), and the instance stopped serving. What " +
        "arrives for a room without members here must be skipped, not delivered to a member list that is gone",
    ).toBe("left");
    const check = await other!.say(otherRoom, "anyone?");
    expect(
      check.answer,
      "the instance must go on serving its other clients after a message arrived for a room it just left",
    ).toEqual({ type: "sent", room: otherRoom, id: check.id });
    expect(
      await subscribersBecome(room, 0),
      "the room's last member left: the instance must UNSUBSCRIBE from its channel",
    ).toBe(0);
  });

  it("a socket that closes while its join still waits for Redis leaves no subscription behind", async () => {
    const [leaving, witness] = await connectMany(learner(), 2);
    const room = uid("fleeting");
    const later = uid("later");
    await pauseRedis(REDIS_PAUSE_MS);
    // The join starts a SUBSCRIBE that waits for Redis until the pause ends; the close, sent after it on the
    // same connection, reaches the server while it still waits.
    leaving!.send({ type: "join", room });
    leaving!.socket.close();
    expect(await leaving!.waitClosed(REDIS_PAUSE_MS + 3_000), "the client closes its socket").toBe(true);
    // The instance's subscriber connection runs its commands in order: once this later join is answered,
    // Redis has answered the SUBSCRIBE of the closed socket's join.
    witness!.send({ type: "join", room: later });
    expect(
      await witness!.waitFor(
        (message) => message.type === "joined" && message.room === later,
        REDIS_PAUSE_MS + 3_000,
      ),
      `join must be answered with {"type":"joined","room":"${later}"}`,
    ).toBeDefined();
    expect(
      await subscribersBecome(room, 0, 2_000),
      "the socket closed while its join was waiting for the SUBSCRIBE: it is a member of nothing, so once " +
        "Redis has answered, the instance must not stay subscribed. Record the membership when the join " +
        "arrives (the close then removes it), and decide subscribe or unsubscribe from the membership as it " +
        "is when each change runs",
    ).toBe(0);
  });
});
