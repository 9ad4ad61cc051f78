import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./platform-paths.ts";

/** Folders whose files end up in the web app's build. */
const buildInputs = ["apps/web/src", "apps/web/next.config.ts", "apps/web/package.json", "packages"];

/** True when there is no production build yet, or a source file changed after it was made. */
export function needsBuild(webDir: string): boolean {
  const buildId = join(webDir, ".next/BUILD_ID");
  if (!existsSync(buildId)) return true;
  const builtAt = statSync(buildId).mtimeMs;
  return buildInputs.some((input) => newestChange(join(repoRoot, input)) > builtAt);
}

function newestChange(path: string): number {
  if (!existsSync(path)) return 0;
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === ".next" || entry.name === "test") continue;
    newest = Math.max(newest, newestChange(join(path, entry.name)));
  }
  return newest;
}
