import { connect } from "node:net";
import { type ISocketFactory } from "kafkajs";

/**
 * A kafkajs socket factory that dials `aliases[host]` instead of `host`. A broker on a grade network
 * advertises its container name, which resolves only inside that network; the runner and graders, on the
 * host, reach the same broker at its container address.
 */
export function aliasingSocketFactory(aliases: Record<string, string>): ISocketFactory {
  return ({ host, port, onConnect }) => {
    const socket = connect({ host: aliases[host] ?? host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    return socket;
  };
}
