import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { listFiles } from "./load-lab.ts";

/**
 * A sha256 over files' paths and contents, for reports that stay valid only while their inputs do. Folders
 * are walked; dot-files and node_modules are left out (build scratch and installs differ between machines).
 */
export function hashInputs(root: string, paths: string[], preamble = ""): string {
  const hash = createHash("sha256").update(`${preamble}\n`);
  const files = paths
    .flatMap((path) => {
      const full = join(root, path);
      if (!existsSync(full)) return []; // no fixtures/: nothing to hash
      return statSync(full).isDirectory() ? listFiles(full).map((file) => `${path}/${file}`) : [path];
    })
    .filter((path) => !path.split("/").some((part) => part.startsWith(".") || part === "node_modules"))
    .sort();
  for (const path of files) {
    hash
      .update(`${path}\n`)
      .update(readFileSync(join(root, path)))
      .update("\n");
  }
  return `sha256:${hash.digest("hex")}`;
}
