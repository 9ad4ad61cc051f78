import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { discoverLabs } from "@backend-labs/lab-format";
import { afterAll, describe, expect, it } from "vitest";
import { gradeSubmission } from "../src/grade/grade-submission.ts";
import { GradingRuntime } from "../src/grade/grading-runtime.ts";
import { readSubmissionDir, type Submission } from "../src/grade/submission.ts";
import { validateSubmission } from "../src/grade/validate-submission.ts";
import { fixtureLabsRoot, labsNodeModules } from "./support/paths.ts";

const lab = discoverLabs(fixtureLabsRoot).labs.find((candidate) => candidate.manifest.id === "text-tools")!;
const scratch = mkdtempSync(join(tmpdir(), "submission-test-"));
const runtime = new GradingRuntime(labsNodeModules);
afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await runtime[Symbol.asyncDispose]();
});

const submissionOf = (files: Record<string, string | Buffer>): Submission => ({
  files: new Map(Object.entries(files).map(([path, content]) => [path, Buffer.from(content)])),
  unreadable: [],
});
const problems = (submission: Submission) =>
  validateSubmission(submission, lab.manifest).map((problem) => `${problem.path}: ${problem.reason}`);

describe("validateSubmission", () => {
  it("accepts the editable files", () => {
    expect(problems(submissionOf({ "src/text.ts": "export {}", "src/helpers.ts": "" }))).toEqual([]);
  });

  it.each([
    ["../escape.ts", /not a plain relative path/],
    ["/etc/passwd", /not a plain relative path/],
    ["src/../src/text.ts", /not a plain relative path/],
    ["src\\text.ts", /not a plain relative path/],
    ["grader/text.test.ts", /not one of the files this lab lets you edit/],
  ])("names %s and why it is refused", (path, reason) => {
    expect(problems(submissionOf({ [path]: "x" }))).toEqual([expect.stringMatching(reason)]);
  });

  it("refuses files over 1 MB, binary content and invalid UTF-8", () => {
    expect(problems(submissionOf({ "src/text.ts": "x".repeat(1024 * 1024 + 1) }))).toEqual([
      expect.stringMatching(/^src\/text.ts: is 1048577 bytes; the limit is 1048576/),
    ]);
    expect(problems(submissionOf({ "src/text.ts": Buffer.from([0x61, 0x00, 0x62]) }))).toEqual([
      "src/text.ts: is not UTF-8 text (binary content)",
    ]);
    expect(problems(submissionOf({ "src/helpers.ts": Buffer.from([0xff, 0xfe, 0x41]) }))).toEqual([
      "src/helpers.ts: is not UTF-8 text (binary content)",
    ]);
  });

  it("refuses more than 100 files", () => {
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, index) => [`src/file${index}.ts`, ""]));
    expect(problems(submissionOf(many))[0]).toBe(".: has 101 files; at most 100 are accepted");
  });

  it("reports symlinks in a submission folder without following them", () => {
    const dir = join(scratch, "with-symlink");
    mkdirSync(join(dir, "src"), { recursive: true });
    symlinkSync("/etc/passwd", join(dir, "src/text.ts"));
    const submission = readSubmissionDir(dir);
    expect(submission.files.size).toBe(0);
    expect(problems(submission)).toEqual(["src/text.ts: is a symbolic link"]);
  });
});

describe("grading a hostile submission", () => {
  it("ends as an error naming the file, and writes nothing outside the workspace", async () => {
    const target = join(dirname(tmpdir()), `escaped-${process.pid}.ts`);
    const result = await gradeSubmission({
      lab,
      submission: submissionOf({
        "../../escaped.ts": "pwned",
        [`../..${target}`]: "pwned",
        "src/text.ts": "export {}",
      }),
      runtime,
    });
    expect(result.status).toBe("error");
    expect(result.message).toMatch(
      /^Your submission was not accepted:\n- \.\.\/\.\.\/escaped\.ts: is not a plain relative path/,
    );
    expect(existsSync(target)).toBe(false);
    expect(result.tests).toEqual([]);
  });

  it("writes a large binary file nowhere", async () => {
    const submission = submissionOf({ "src/text.ts": Buffer.alloc(2 * 1024 * 1024, 0) });
    const result = await gradeSubmission({ lab, submission, runtime });
    expect(result.message).toContain("src/text.ts: is 2097152 bytes");
  });
});
