import { spawn } from "node:child_process";

// Starts processes until the kernel refuses; the container's pids limit must stop it, not the host.
export async function probe(): Promise<string> {
  let spawned = 0;
  let refused = "";
  for (let i = 0; i < 2000 && !refused; i++) {
    try {
      const child = spawn("sleep", ["60"], { stdio: "ignore" });
      child.on("error", (error) => (refused ||= error.message));
      spawned++;
    } catch (error) {
      refused = (error as Error).message;
    }
    if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  console.log(`spawned ${spawned}, refused: ${refused || "never"}`);
  return "no canary";
}
