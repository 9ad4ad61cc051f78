import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { cliMain, fixtureLabsRoot } from "./paths.ts";

const run = promisify(execFile);

/** The `labs` CLI on the fixture labs, as a user runs it: its exit code and output, whatever they are. */
export async function labs(args: string[], env: Record<string, string> = {}, cwd?: string) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cliMain, ...args], {
      env: { ...process.env, BACKEND_LABS_LABS_DIR: fixtureLabsRoot, NO_COLOR: "1", ...env },
      ...(cwd && { cwd }),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
