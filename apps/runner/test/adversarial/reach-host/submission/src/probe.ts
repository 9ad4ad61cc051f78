import { connect } from "node:net";
import { networkInterfaces } from "node:os";

// The runner serves the canary on every host address; the bridge's gateway is the host.
export async function probe(targets: { hostPort: number }): Promise<string> {
  const own = Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry && entry.family === "IPv4" && !entry.internal);
  const gateway = own ? own.address.replace(/\.\d+$/, ".1") : "172.17.0.1";
  for (const host of [gateway, "172.17.0.1", "host.docker.internal"]) {
    try {
      const response = await fetch(`http://${host}:${targets.hostPort}/`, {
        signal: AbortSignal.timeout(1500),
      });
      return (await response.text()).trim();
    } catch (error) {
      const cause = (error as Error & { cause?: NodeJS.ErrnoException }).cause;
      const why =
        (error as Error).name === "TimeoutError" ? "timeout" : (cause?.code ?? (error as Error).message);
      console.log(`${host === gateway ? `gateway ${host}` : host}:${targets.hostPort}: ${why}`);
    }
  }
  console.log(`gateway ${gateway}:5432 (a platform database): ${await tryConnect(gateway, 5432)}`);
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
