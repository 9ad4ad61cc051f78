import Docker from "dockerode";
import { ensureHostFirewall, gradeBridgePrefix } from "../host/host-firewall.ts";
import { environmentLabels } from "./resource-labels.ts";

/** Where a grade environment's containers talk to each other; see docs/security.md. */
export interface GradeNetwork extends AsyncDisposable {
  name: string;
}

/**
 * A per-environment `--internal` bridge: no route out (no internet, no other grade's network), reachable from
 * the host (the runner's RPC calls and admin clients go to container addresses), and, through the host
 * firewall rule, unable to open connections to the host itself.
 */
export async function createGradeNetwork(environmentId: string): Promise<GradeNetwork> {
  await ensureHostFirewall();
  const docker = new Docker();
  const suffix = environmentId.replaceAll("-", "").slice(0, 12);
  const name = `backend-labs-${suffix}`;
  const network = await docker.createNetwork({
    Name: name,
    Driver: "bridge",
    Internal: true,
    CheckDuplicate: true,
    Labels: environmentLabels(environmentId),
    // The bridge's interface name (at most 15 characters) carries the prefix the firewall rule matches.
    Options: { "com.docker.network.bridge.name": `${gradeBridgePrefix}${suffix}` },
  });
  return {
    name,
    [Symbol.asyncDispose]: async () => {
      await network.remove().catch(() => undefined);
    },
  };
}
