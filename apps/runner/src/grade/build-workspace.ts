import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { type Lab, labFiles, learnerCompilerOptions } from "@backend-labs/lab-format";
import { type Submission } from "./submission.ts";
import { runnerScratchDir } from "../services/runner-scratch.ts";

export interface Workspace extends AsyncDisposable {
  dir: string;
}

/**
 * Stage 2: a fresh temp folder holding the lab's starter overlaid with the (validated) submission.
 * The grader suite is not copied: it runs from the lab folder, out of the learner's reach.
 */
export function buildWorkspace(lab: Lab, submission: Submission, labsNodeModules: string): Workspace {
  const dir = mkdtempSync(join(runnerScratchDir(), "grade-"));
  // mkdtemp makes it private to the runner's user; the sandbox's unprivileged user must read it (only).
  chmodSync(dir, 0o755);
  cpSync(join(lab.dir, labFiles.starter), dir, { recursive: true });
  for (const [path, content] of submission.files) {
    const target = resolve(dir, path);
    if (!target.startsWith(dir + sep)) throw new Error(`refusing to write outside the workspace: ${path}`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  // Learner code imports pg, ioredis, kafkajs...: the labs package's dependencies.
  symlinkSync(labsNodeModules, join(dir, "node_modules"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }, null, 2));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: learnerCompilerOptions, include: ["**/*.ts"] }, null, 2),
  );
  return {
    dir,
    [Symbol.asyncDispose]: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}
