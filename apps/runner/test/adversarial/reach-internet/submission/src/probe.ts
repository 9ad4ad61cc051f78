import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import { connect } from "node:net";

// 192.0.2.1 is TEST-NET-1, never routed: a connection attempt cannot leave this machine even if it is tried.
export async function probe(): Promise<string> {
  const routes = readFileSync("/proc/net/route", "utf8").split("\n").slice(1).filter(Boolean);
  const hasDefault = routes.some((line) => line.split(/\s+/)[1] === "00000000");
  console.log(hasDefault ? "default route present" : "no default route");
  console.log(`192.0.2.1:80: ${await tryConnect("192.0.2.1", 80)}`);
  try {
    console.log(`lookup registry.npmjs.org: ${(await lookup("registry.npmjs.org")).address}`);
  } catch (error) {
    console.log(`lookup registry.npmjs.org: ${(error as NodeJS.ErrnoException).code}`);
  }
  return "no canary";
}

function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1500, () => {
      socket.destroy();
      resolve("timeout");
    });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}
