import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gradeResultSchema } from "@backend-labs/grade-result";
import { listFiles } from "@backend-labs/lab-format";
import { afterAll, describe, expect, it } from "vitest";
import { countManagedContainersOf } from "./support/leftovers.ts";
import { fixtureLabsRoot, labsNodeModules } from "./support/paths.ts";
import { labs } from "./support/run-labs-cli.ts";

const textTools = join(fixtureLabsRoot, "01-fundamentals/text-tools");
const visitCounter = join(fixtureLabsRoot, "04-caching/visit-counter");
const outDir = mkdtempSync(join(tmpdir(), "labs-cli-test-"));

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("labs list", () => {
  it("prints every lab with its section, services and folder as JSON", async () => {
    const { code, stdout } = await labs(["list", "--format", "json"]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([
      expect.objectContaining({
        id: "text-tools",
        section: { number: 1, name: "Core Backend Fundamentals" },
        services: [],
      }),
      expect.objectContaining({
        id: "visit-counter",
        section: { number: 4, name: "Caching" },
        services: ["redis"],
      }),
      expect.objectContaining({ id: "isolation-probe", services: ["postgres", "redis", "kafka"] }),
      expect.objectContaining({ id: "sandbox-probe", services: ["postgres", "redis"] }),
    ]);
  });
});

describe("labs grade", () => {
  it("exits 0 on pass with only the JSON result on stdout and progress on stderr", async () => {
    const { code, stdout, stderr } = await labs([
      "grade",
      "text-tools",
      join(textTools, "solution"),
      "--format",
      "json",
    ]);
    expect(code).toBe(0);
    const result = gradeResultSchema.parse(JSON.parse(stdout));
    expect(result.status).toBe("pass");
    expect(JSON.parse(stdout)).toMatchObject({
      score: 1,
      task_scores: [
        { task_id: 1, passed: 2, total: 2, score: 1 },
        { task_id: 2, passed: 2, total: 2, score: 1 },
      ],
    });
    // A report a learner may read does not show how the grader works, unless asked for.
    expect(result.tests.map((test) => test.test_code)).toEqual(result.tests.map(() => ""));
    expect(stderr).toContain("running tests");
    const withCode = await labs([
      "grade",
      "text-tools",
      join(textTools, "solution"),
      "--format",
      "json",
      "--test-code",
    ]);
    const tests = gradeResultSchema.parse(JSON.parse(withCode.stdout)).tests;
    expect(tests.every((test) => test.test_code.includes("expect("))).toBe(true);
  });

  it("grades with the process sandbox when asked (trusted code, no Docker needed for a lab without services)", async () => {
    const { code, stdout } = await labs([
      "grade",
      "text-tools",
      join(textTools, "solution"),
      "--format",
      "json",
      "--sandbox",
      "process",
    ]);
    expect(code).toBe(0);
    expect(gradeResultSchema.parse(JSON.parse(stdout)).status).toBe("pass");
  });

  it("exits 1 on fail and writes JUnit XML to --out, leaving stdout empty", async () => {
    const out = join(outDir, "starter.xml");
    const { code, stdout } = await labs([
      "grade",
      "text-tools",
      join(textTools, "starter"),
      "--format",
      "junit",
      "--out",
      out,
    ]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    const xml = readFileSync(out, "utf8");
    expect(xml).toMatch(/<testsuite name="text-tools" tests="4" failures="3" errors="0"/);
    expect(xml).toContain("<failure message=");
    // The starter passes one of task 2's two tests and none of task 1's: (0 + 1/2) / 2.
    expect(xml).toContain('<property name="score" value="0.25"/>');
  });

  it("prints a readable report without colour when not on a terminal", async () => {
    const { code, stdout } = await labs(["grade", "text-tools", join(textTools, "starter")]);
    expect(code).toBe(1);
    expect(stdout).toContain("FAIL text-tools · score 25 % (task 1: 0/2, task 2: 1/2)");
    expect(stdout).toContain("Task 2");
    expect(stdout).not.toContain("\u001b[");
  });

  it.each([
    [["grade", "no-such-lab", textTools], /unknown lab id "no-such-lab"/],
    [["grade", "text-tools", "/no/such/folder"], /submission folder not found/],
    [["grade", "text-tools", textTools, "--format", "xml"], /argument 'xml' is invalid/],
    [["grade", "text-tools"], /holds none of the files text-tools lets you edit/],
    [["validate"], /name lab ids or pass --all/],
    [["frobnicate"], /unknown command 'frobnicate'/],
  ])("exits 2 with one clear message for bad input: %j", async (args, message) => {
    const { code, stderr } = await labs(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it("exits 2 with a one-line hint when Docker is not reachable", async () => {
    const { code, stderr } = await labs(["grade", "visit-counter", join(visitCounter, "solution")], {
      DOCKER_HOST: "unix:///nonexistent/docker.sock",
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /labs: Docker is not reachable at unix:\/\/\/nonexistent\/docker.sock .*start-dockerd/,
    );
  });

  it("reports a service that fails to start as an error naming it, and leaves nothing behind", async () => {
    const { code, stdout } = await labs(
      ["grade", "visit-counter", join(visitCounter, "solution"), "--format", "json"],
      {
        BACKEND_LABS_REDIS_IMAGE: "backend-labs/debian:bookworm",
      },
    );
    expect(code).toBe(2);
    const result = gradeResultSchema.parse(JSON.parse(stdout));
    expect(result.message).toMatch(
      /^The redis service \(image backend-labs\/debian:bookworm\) failed to start/,
    );
    expect(await countManagedContainersOf("backend-labs/debian:bookworm")).toBe(0);
  });
});

describe("labs report", () => {
  it("renders a saved JSON result as JUnit or a Markdown summary, with the grade's exit code", async () => {
    const saved = join(outDir, "starter-result.json");
    const graded = await labs([
      "grade",
      "text-tools",
      join(textTools, "starter"),
      "--format",
      "json",
      "--out",
      saved,
    ]);
    expect(graded.code).toBe(1);

    const markdown = await labs(["report", saved, "--format", "markdown"]);
    expect(markdown.code).toBe(1);
    expect(markdown.stdout).toContain("## ❌ FAIL text-tools: score 25 %");
    expect(markdown.stdout).toContain("| Task 1: Slugify a title | 0/2 | 0 % |");
    expect(markdown.stdout).toContain("| Task 2: Count words | 1/2 | 50 % |");
    expect(markdown.stdout).toContain("### Failing tests (3)");
    expect(markdown.stdout).toContain("no dash at either end of a slug");

    const junit = join(outDir, "from-saved.xml");
    expect((await labs(["report", saved, "--format", "junit", "--out", junit])).code).toBe(1);
    expect(readFileSync(junit, "utf8")).toMatch(
      /<testsuite name="text-tools" tests="4" failures="3" errors="0"/,
    );
  });

  it("exits 2 naming what is wrong with the file", async () => {
    const notJson = join(outDir, "not-json.json");
    writeFileSync(notJson, "PASS text-tools\n");
    const notResult = join(outDir, "not-result.json");
    writeFileSync(notResult, JSON.stringify({ version: 3, status: "maybe" }));
    for (const [file, message] of [
      [join(outDir, "missing.json"), /cannot read .*missing\.json: ENOENT/],
      [notJson, /not-json\.json is not JSON/],
      [notResult, /not-result\.json is not a grade result \(status: /],
    ] as const) {
      const { code, stderr } = await labs(["report", file]);
      expect(code).toBe(2);
      expect(stderr).toMatch(message);
    }
  });
});

describe("a learner's folder: labs start, then labs grade in it", () => {
  it(
    "holds only what a learner may see, and grades with no lab id, leaving out what is not the lab's",
    { timeout: 120_000 },
    async () => {
      const folder = join(outDir, "my-text-tools");
      expect((await labs(["start", "text-tools", folder])).code).toBe(0);
      expect(listFiles(folder)).toEqual(["README.md", "backend-lab.json", "src/helpers.ts", "src/text.ts"]);
      const everything = listFiles(folder)
        .map((path) => readFileSync(join(folder, path), "utf8"))
        .join("\n");
      const manifest = JSON.parse(readFileSync(join(textTools, "lab.json"), "utf8")) as {
        mutants: { mistake: string }[];
      };
      for (const { mistake } of manifest.mutants) expect(everything).not.toContain(mistake);
      expect(statSync(join(folder, "README.md")).mode & 0o222, "the README is read-only").toBe(0);
      const again = await labs(["start", "text-tools", folder]);
      expect(again.stderr).toMatch(/is not empty: pass --force/);
      expect(again.code).toBe(2);

      for (const path of ["src/text.ts", "src/helpers.ts"])
        copyFileSync(join(textTools, "solution", path), join(folder, path));
      writeFileSync(join(folder, "notes.md"), "todo\n");
      writeFileSync(join(folder, "result-1.json"), "{}\n");
      mkdirSync(join(folder, ".git"));
      writeFileSync(join(folder, ".git/HEAD"), "ref: refs/heads/main\n");
      // As if started from an older version of the lab.
      const marker = JSON.parse(readFileSync(join(folder, "backend-lab.json"), "utf8")) as {
        version: string;
        files: Record<string, string>;
      };
      writeFileSync(
        join(folder, "backend-lab.json"),
        JSON.stringify({ ...marker, version: "old", files: { ...marker.files, "README.md": "old" } }),
      );
      const graded = await labs(["grade", "--format", "json"], {}, folder);
      expect(graded.stderr).toContain(
        "left out 3 file(s) that are not part of the lab: .git/, notes.md, result-1.json",
      );
      expect(graded.stderr).toMatch(
        /warning: this folder was started from another version of text-tools: README\.md changed/,
      );
      expect(gradeResultSchema.parse(JSON.parse(graded.stdout)).status).toBe("pass");
      expect(graded.code).toBe(0);

      const otherLab = await labs(["grade", "visit-counter", folder]);
      expect(otherLab.stderr).toMatch(
        /was started for the lab text-tools \(backend-lab\.json\), not visit-counter/,
      );
      expect(otherLab.code).toBe(2);
      const empty = mkdtempSync(join(outDir, "empty-"));
      const unnamed = await labs(["grade"], {}, empty);
      expect(unnamed.stderr).toMatch(/has no backend-lab\.json: name the lab/);
      expect(unnamed.code).toBe(2);
      const nothing = await labs(["grade", "text-tools", empty]);
      expect(nothing.stderr).toMatch(
        /holds none of the files text-tools lets you edit \(src\/text\.ts, src\/helpers\.ts\)/,
      );
      expect(nothing.code).toBe(2);
    },
  );
});

describe("labs grade-batch", () => {
  it(
    "grades one submission per subfolder into a gradebook, a learner's mistake being a row, and skips unchanged ones on a re-run",
    { timeout: 240_000 },
    async () => {
      const batch = join(outDir, "batch");
      const copy = (name: string, tree: string) => {
        for (const path of ["src/text.ts", "src/helpers.ts"]) {
          mkdirSync(join(batch, name, "src"), { recursive: true });
          copyFileSync(join(textTools, tree, path), join(batch, name, path));
        }
      };
      copy("ada", "solution");
      copy("grace", "starter");
      copy("linus", "solution");
      appendFileSync(join(batch, "linus/src/text.ts"), '\nconst broken: number = "not a number";\n');
      mkdirSync(join(batch, "margaret")); // handed in nothing
      writeFileSync(join(batch, "class-list.csv"), "ada,grace,linus,margaret\n");

      const first = await labs(["grade-batch", "text-tools", batch, "--jobs", "2"]);
      expect(first.stderr).toContain("left out 1 file(s) that are not submission folders: class-list.csv");
      expect(first.stderr).toMatch(/\[4\/4\] /);
      expect(first.stderr).toMatch(
        /4 submission\(s\) in \d+ s: 1 pass, 1 fail, 2 error; gradebook in .*batch-grades/,
      );
      expect(first.code).toBe(0);
      const out = `${batch}-grades`;
      const gradebook = JSON.parse(readFileSync(join(out, "gradebook.json"), "utf8")) as {
        submission: string;
        status: string;
        passed: number;
        total: number;
        message: string;
      }[];
      expect(gradebook.map(({ submission, status }) => [submission, status])).toEqual([
        ["ada", "pass"],
        ["grace", "fail"],
        ["linus", "error"],
        ["margaret", "error"],
      ]);
      expect(gradebook[0]!.passed).toBe(gradebook[0]!.total);
      expect(gradebook[2]!.message).toMatch(/does not compile|type/i);
      expect(gradebook[3]!.message).toMatch(/holds none of the files text-tools lets you edit/);
      const csv = readFileSync(join(out, "gradebook.csv"), "utf8");
      expect(csv.split("\r\n")[0]).toBe(
        "submission,status,score,passed,failed,total,task_1,task_2,seconds,message",
      );
      expect(csv).toContain("\r\nada,pass,1,4,0,4,1,1,");
      expect(csv).toContain("\r\ngrace,fail,0.25,1,3,4,0,0.5,");
      // A compile error scores 0; its empty task cells say that none of the tasks' tests ran.
      expect(csv).toMatch(/\r\nlinus,error,0,0,0,0,,,/);
      // Each result in full, test_code included: the instructor's copy.
      const adaResult = gradeResultSchema.parse(JSON.parse(readFileSync(join(out, "ada.json"), "utf8")));
      expect(adaResult.tests.every((test) => test.test_code.length > 0)).toBe(true);

      // Grace fixes her code; only her submission is graded again.
      copy("grace", "solution");
      const second = await labs(["grade-batch", "text-tools", batch]);
      expect(second.stderr).toMatch(
        /ada: pass, score 1, \d+\/\d+ tests \(unchanged since the last run: kept\)/,
      );
      expect(second.stderr).toMatch(/grace: pass, score 1, \d+\/\d+ tests \(\d+\.\d s\)/);
      expect(second.stderr).toContain("2 pass, 0 fail, 2 error");

      const plainFiles = mkdtempSync(join(outDir, "plain-"));
      writeFileSync(join(plainFiles, "ada.ts"), "");
      const refused = await labs(["grade-batch", "text-tools", plainFiles]);
      expect(refused.stderr).toMatch(/holds no submission folders: .* \(it holds only files: ada\.ts\)/);
      expect(refused.code).toBe(2);
    },
  );
});

describe("labs new", () => {
  // Eight grading commands in one test: room for a loaded machine.
  it("scaffolds a lab that validates once mutation-tested", { timeout: 420_000 }, async () => {
    const labsDir = mkdtempSync(join(tmpdir(), "labs-new-"));
    try {
      symlinkSync(labsNodeModules, join(labsDir, "node_modules"));
      const env = { BACKEND_LABS_LABS_DIR: labsDir };
      expect((await labs(["new", "04-caching/write-through"], env)).code).toBe(0);
      const unmutated = await labs(["validate", "write-through", "--quiet"], env);
      expect(unmutated.stderr).toMatch(
        /mutation-report\.json is missing: run `pnpm labs mutate write-through`/,
      );
      expect(unmutated.code).toBe(1);
      // On the strength backlog, what is missing is a notice; once the bar is met, the backlog must shrink.
      const backlog = join(labsDir, "strength-backlog.json");
      writeFileSync(backlog, JSON.stringify({ why: "older labs", labs: ["write-through"] }));
      const pending = await labs(["validate", "write-through", "--quiet"], env);
      expect(pending.stderr).toMatch(/! on the strength backlog: mutation-report\.json is missing/);
      expect(pending.stderr).toMatch(/1 of them still on labs\/strength-backlog\.json/);
      expect(pending.code).toBe(0);
      const mutated = await labs(["mutate", "write-through", "--quiet"], env);
      expect(mutated.stderr).toMatch(/strong write-through: score 100\.0 %/);
      expect(mutated.code).toBe(0);
      const offTheBacklog = await labs(["validate", "write-through", "--quiet"], env);
      expect(offTheBacklog.stderr).toMatch(/meets the strength bar now: take the lab off/);
      expect(offTheBacklog.code).toBe(1);
      rmSync(backlog);
      const validated = await labs(["validate", "write-through", "--quiet"], env);
      expect(validated.stderr).toContain("valid write-through");
      expect(validated.code).toBe(0);
      // A full validation records what caught each mutant; CI re-grades them only once the lab changed.
      const recorded = await labs(["validate", "write-through", "--quiet", "--use-records"], env);
      expect(recorded.stderr).toMatch(/✓ mutants and probes \(1\): caught when last graded/);
      expect(recorded.stderr).not.toMatch(/mutant missing-punctuation/);
      expect(recorded.code).toBe(0);
      appendFileSync(join(labsDir, "04-caching/write-through/grader/lab.test.ts"), "// sharpened\n");
      const regraded = await labs(["validate", "write-through", "--quiet", "--use-records"], env);
      expect(regraded.stderr).toMatch(/✓ mutant missing-punctuation: fail/);
      expect((await labs(["new", "04-caching/write-through"], env)).stderr).toMatch(/already exists/);
      expect((await labs(["new", "99-nowhere/x"], env)).stderr).toMatch(/unknown section "99-nowhere"/);
    } finally {
      rmSync(labsDir, { recursive: true, force: true });
    }
  });
});
