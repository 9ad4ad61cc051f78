import { connect } from "node:net";

// Another grade's Redis, on that grade's own network, holds the canary under key "canary".
export function probe(targets: { otherRedis: string }): Promise<string> {
  const [host, port] = targets.otherRedis.split(":");
  return new Promise((resolve) => {
    const socket = connect({ host: host ?? "", port: Number(port) });
    const fail = (why: string) => {
      console.log(`other grade's redis: ${why}`);
      socket.destroy();
      resolve("no canary");
    };
    socket.setTimeout(3000, () => fail("timeout"));
    socket.once("error", (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
    socket.once("connect", () => socket.write("GET canary\r\n"));
    socket.once("data", (reply) => {
      socket.destroy();
      resolve(reply.toString().split("\r\n")[1] ?? "no canary");
    });
  });
}
