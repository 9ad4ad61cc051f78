import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { discoverLabs, labFiles } from "@backend-labs/lab-format";
import { afterAll, describe, expect, it } from "vitest";
import { markerFor, sha256 } from "../src/learner-folder/learner-folder-marker.ts";
import { readLearnerFolder } from "../src/learner-folder/read-learner-folder.ts";
import { repoLabsRoot } from "./support/paths.ts";

// middleware-pipeline's solution folder carries copies of the lab's fixed files (routes.ts, server.ts).
const lab = discoverLabs(repoLabsRoot).labs.find(
  (candidate) => candidate.manifest.id === "middleware-pipeline",
)!;
const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});
function solutionCopy(): string {
  const folder = mkdtempSync(join(tmpdir(), "learner-folder-"));
  folders.push(folder);
  cpSync(join(lab.dir, labFiles.solution), folder, { recursive: true });
  return folder;
}

describe("readLearnerFolder", () => {
  it("takes the editable files; unchanged copies of fixed files are fine", () => {
    const { submission, ignored } = readLearnerFolder(lab, solutionCopy());
    expect([...submission.files.keys()]).toEqual(["src/pipeline.ts"]);
    expect(submission.unreadable).toEqual([]);
    expect(ignored).toEqual([]);
  });

  it("refuses a changed fixed file, saying where it differs", () => {
    const folder = solutionCopy();
    writeFileSync(join(folder, "src/routes.ts"), "// my own routes\n");
    const { submission } = readLearnerFolder(lab, folder);
    expect(submission.unreadable.map(({ path }) => path)).toEqual(["src/routes.ts"]);
    expect(submission.unreadable[0]?.reason).toMatch(
      /^is one of the lab's fixed files, and it was changed \(\d+ line\(s\) differ, the first at line 1\)/,
    );
  });

  it("accepts an untouched fixed file from the version the folder was started from, not a changed one", () => {
    const folder = solutionCopy();
    const olderRoutes = "// routes as an older version of the lab shipped them\n";
    writeFileSync(join(folder, "src/routes.ts"), olderRoutes);
    const startedFrom = markerFor(lab);
    startedFrom.files["src/routes.ts"] = sha256(olderRoutes);
    expect(readLearnerFolder(lab, folder, startedFrom).submission.unreadable).toEqual([]);

    writeFileSync(join(folder, "src/routes.ts"), `${olderRoutes}// and the learner's own line\n`);
    expect(readLearnerFolder(lab, folder, startedFrom).submission.unreadable.map(({ path }) => path)).toEqual(
      ["src/routes.ts"],
    );
  });

  it("leaves out what is not the lab's, and never follows a symlink", () => {
    const folder = solutionCopy();
    writeFileSync(join(folder, "notes.md"), "");
    cpSync(join(folder, "src"), join(folder, "node_modules/x"), { recursive: true });
    rmSync(join(folder, "src/pipeline.ts"));
    symlinkSync("/etc/passwd", join(folder, "src/pipeline.ts"));
    const { submission, ignored } = readLearnerFolder(lab, folder);
    expect(ignored).toEqual(["node_modules/", "notes.md"]);
    expect(submission.unreadable).toEqual([{ path: "src/pipeline.ts", reason: "is a symbolic link" }]);
    expect(submission.files.size).toBe(0);
  });
});
