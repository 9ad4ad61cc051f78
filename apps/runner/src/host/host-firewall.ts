import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Every grade network's bridge is named with this prefix, so one rule covers all of them. */
export const gradeBridgePrefix = "bl-";

/**
 * Docker leaves the host's listening sockets reachable from containers through their bridge's gateway
 * address, even on an `--internal` network. This rule drops every new connection that arrives from a grade
 * network's bridge, so learner containers reach their services and nothing on the host; replies to the
 * runner's own connections into the network (its RPC calls, its admin clients) are not new and still pass.
 */
const rule = ["INPUT", "-i", `${gradeBridgePrefix}+`, "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"];

export class HostFirewallError extends Error {
  constructor(cause: unknown) {
    super(
      "Cannot block grade networks from reaching this host: adding the iptables rule " +
        `\`iptables -I ${rule.join(" ")}\` failed (${(cause as Error).message.trim()}). ` +
        "Run the runner as root, or add that rule yourself.",
      { cause },
    );
    this.name = "HostFirewallError";
  }
}

let ensured: Promise<void> | undefined;

/** Adds the rule once per host (idempotent: an existing rule is left as it is). */
export function ensureHostFirewall(): Promise<void> {
  ensured ??= (async () => {
    try {
      await run("iptables", ["-C", ...rule]);
      return;
    } catch {
      // Not there yet.
    }
    try {
      await run("iptables", ["-I", ...rule]);
    } catch (error) {
      ensured = undefined;
      throw new HostFirewallError(error);
    }
  })();
  return ensured;
}
