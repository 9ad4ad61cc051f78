#!/usr/bin/env node
import { availableParallelism } from "node:os";
import { dirname, join, relative } from "node:path";
import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import {
  type Lab,
  LabFormatError,
  LabTreeError,
  readStrengthBacklog,
  strengthBacklogFile,
} from "@backend-labs/lab-format";
import { GradingRuntime, noPool, poolFor } from "../grade/grading-runtime.ts";
import { tearDownInFlightGrades } from "../grade/in-flight-grades.ts";
import { DockerUnavailableError } from "../host/docker-reachable.ts";
import { HostFirewallError } from "../host/host-firewall.ts";
import { reportFormats } from "../report/render-report.ts";
import { gradeBatchCommand } from "./commands/grade-batch-command.ts";
import { gradeCommand, gradeTarget } from "./commands/grade-command.ts";
import { LearnerFolderError } from "../learner-folder/learner-folder-error.ts";
import { startLearnerFolder } from "../learner-folder/start-learner-folder.ts";
import { formatListing, listLabs } from "./commands/list-command.ts";
import { editMutant, saveMutant } from "./commands/mutant-command.ts";
import { mutateCommand } from "./commands/mutate-command.ts";
import { BaselineFailedError } from "../mutation/mutate-lab.ts";
import { defaultJournalDir } from "../mutation/mutation-journal.ts";
import { scaffoldLab } from "./commands/new-command.ts";
import { reportCommand } from "./commands/report-command.ts";
import { PlatformRefusalError, submitCommand } from "./commands/submit-command.ts";
import { validateLab } from "./commands/validate-command.ts";
import { exitCodes } from "./exit-codes.ts";
import {
  CatalogError,
  findLab,
  LabNotFoundError,
  labsNodeModules,
  labsRoot,
  loadCatalog,
} from "../catalog/labs-catalog.ts";
import { configureTestcontainers } from "@backend-labs/service-containers";
import { prepareRunner } from "../host/prepare-runner.ts";
import { UsageError } from "./usage-error.ts";
import { DatabaseUnreachableError, runWorker } from "../worker/run-worker.ts";
import { parseWorkerOptions } from "./worker-options.ts";

configureTestcontainers();

/** Grades at once by default: each takes about a core at its peak (vitest, the learner's copy, the services). */
const defaultJobs = () => (availableParallelism() >= 4 ? 2 : 1);

const sandboxOption = () =>
  new Option(
    "--sandbox <kind>",
    "where learner code runs: docker (default when Docker answers) or process (trusted code only)",
  ).choices(["docker", "process"] as const);

const jobsOption = (what: string) =>
  new Option("--jobs <n>", `${what} (default: 2 on machines with 4+ cores, else 1)`).argParser((value) => {
    const jobs = Number(value);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 8)
      throw new UsageError(`--jobs must be a whole number from 1 to 8, not "${value}"`);
    return jobs;
  });

/** The labs named, or with --all every lab (then none may be invalid). */
function selectLabs(labIds: string[], all: boolean): Lab[] {
  if (all === labIds.length > 0) throw new UsageError("name lab ids or pass --all (not both)");
  const catalog = loadCatalog(labsRoot());
  if (all && catalog.invalid.length > 0) {
    throw new UsageError(catalog.invalid.map((error) => error.message).join("\n"));
  }
  return all ? catalog.labs : labIds.map((id) => findLab(catalog, id));
}

const program = new Command()
  .name("labs")
  .description("Grade, validate and scaffold Backend Labs labs.")
  .exitOverride()
  .configureOutput({ writeErr: (text) => process.stderr.write(text) });

program
  .command("list")
  .description("list every lab with its roadmap section and services")
  .addOption(
    new Option("--format <format>", "output format")
      .choices(["table", "json"] as const)
      .default("table" as const),
  )
  .action((options) => {
    const root = labsRoot();
    const catalog = loadCatalog(root);
    const labs = listLabs(catalog, dirname(root));
    process.stdout.write(
      options.format === "json" ? `${JSON.stringify(labs, null, 2)}\n` : formatListing(labs),
    );
    for (const error of catalog.invalid)
      process.stderr.write(`warning: skipped an invalid lab\n${error.message}\n`);
  });

program
  .command("grade")
  .description(
    "grade a learner's folder against a lab; exit 0 pass, 1 fail, 2 error (inside a `labs start` folder: no arguments)",
  )
  .argument("[lab-id]", "the lab's id (see `labs list`); default: the folder's backend-lab.json")
  .argument("[dir]", "the learner's folder (default: the current one)")
  .addOption(
    new Option("--format <format>", "report format").choices(reportFormats).default("pretty" as const),
  )
  .option("--out <file>", "write the report to a file instead of stdout")
  .option(
    "--test-code",
    "keep each test's source (test_code) in the JSON report; left out by default, as learners may read the report",
  )
  .addOption(sandboxOption())
  .action(async (first, second, options) => {
    const root = labsRoot();
    const { lab, dir, warnings } = gradeTarget(loadCatalog(root), first, second);
    for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
    const sandbox = await prepareRunner(options.sandbox);
    // One grade: nothing to keep warm, but its teardown still runs after the report is written.
    await using runtime = new GradingRuntime(labsNodeModules(root), noPool);
    const result = await gradeCommand(lab, dir, runtime, {
      ...options,
      sandbox,
      testCode: options.testCode === true,
    });
    process.exitCode = exitCodes[result.status];
  });

program
  .command("grade-batch")
  .description(
    "grade one submission per subfolder, several at a time: each result as <name>.json and a gradebook (CSV, JSON)",
  )
  .argument("<lab-id>", "the lab's id (see `labs list`)")
  .argument("<folder>", "a folder with one subfolder per submission")
  .addOption(jobsOption("submissions to grade at the same time"))
  .option("--out <dir>", "where the results and the gradebook go (default: <folder>-grades, beside it)")
  .option("--force", "grade again the submissions whose files did not change since the last run")
  .option(
    "--no-test-code",
    "leave each test's source (test_code) out of the results, for sharing them with learners",
  )
  .addOption(sandboxOption())
  .action(async (labId, folder, options) => {
    const root = labsRoot();
    const lab = findLab(loadCatalog(root), labId);
    const sandbox = await prepareRunner(options.sandbox);
    const jobs = options.jobs ?? defaultJobs();
    const out = options.out ?? `${folder.replace(/[\\/]+$/, "")}-grades`;
    await using runtime = new GradingRuntime(labsNodeModules(root), poolFor(jobs));
    void runtime.prewarm([lab], sandbox);
    const started = performance.now();
    const rows = await gradeBatchCommand(lab, folder, runtime, {
      jobs,
      out,
      force: options.force === true,
      sandbox,
      testCode: options.testCode,
    });
    const count = (status: string) => rows.filter((row) => row.status === status).length;
    process.stderr.write(
      `${rows.length} submission(s) in ${((performance.now() - started) / 1000).toFixed(0)} s: ` +
        `${count("pass")} pass, ${count("fail")} fail, ${count("error")} error; gradebook in ${out}\n`,
    );
    // Every submission has its row: the batch did its job, whatever the grades (vitest may have set a code).
    process.exitCode = 0;
  });

program
  .command("submit")
  .description(
    "send a folder to a Backend Labs platform as your Run (it shows in your history there), wait for the grade; exit 0 pass, 1 fail, 2 error",
  )
  .argument("[lab-id]", "the lab's id; default: the folder's backend-lab.json")
  .argument("[dir]", "the learner's folder (default: the current one)")
  .option("--url <url>", "the platform's address (default: $BACKEND_LABS_URL)")
  .addOption(
    new Option("--format <format>", "report format").choices(reportFormats).default("pretty" as const),
  )
  .option("--out <file>", "write the report to a file instead of stdout")
  .option("--timeout <seconds>", "stop waiting for the result after this long", "600")
  .action(async (first, second, options) => {
    const url = options.url ?? process.env.BACKEND_LABS_URL;
    if (!url) throw new UsageError("say where the platform is: --url <address> or BACKEND_LABS_URL");
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
      throw new UsageError(`--url must be an http(s) address, not "${url}"`);
    // From the environment only, so it stays out of shell history and process lists.
    const token = process.env.BACKEND_LABS_TOKEN;
    if (!token)
      throw new UsageError(
        `set BACKEND_LABS_TOKEN to a token made on your account page (${new URL("/account", url).toString()})`,
      );
    const timeoutSeconds = Number(options.timeout);
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1)
      throw new UsageError(`--timeout must be a whole number of seconds, not "${options.timeout}"`);
    const { lab, dir, warnings } = gradeTarget(loadCatalog(labsRoot()), first, second);
    for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
    const result = await submitCommand(lab, dir, {
      url,
      token,
      format: options.format,
      ...(options.out && { out: options.out }),
      timeoutSeconds,
    });
    process.exitCode = exitCodes[result.status];
  });

program
  .command("report")
  .description(
    "render a saved JSON result (labs grade --format json) in another format; exit 0 pass, 1 fail, 2 error",
  )
  .argument("<results-json>", "a result written by `labs grade --format json`")
  .addOption(
    new Option("--format <format>", "report format").choices(reportFormats).default("pretty" as const),
  )
  .option("--out <file>", "write the report to a file instead of stdout")
  .action((file, options) => {
    const result = reportCommand(file, { format: options.format, ...(options.out && { out: options.out }) });
    process.exitCode = exitCodes[result.status];
  });

program
  .command("start")
  .description("write a folder to work on a lab in: its README, the starter and a backend-lab.json marker")
  .argument("<lab-id>", "the lab's id (see `labs list`)")
  .argument("[dir]", "where (default: a new folder named after the lab)")
  .option("--force", "write into a folder that is not empty (overwrites the lab's files in it)")
  .action((labId, dir, options) => {
    const lab = findLab(loadCatalog(labsRoot()), labId);
    const started = startLearnerFolder(lab, dir ?? labId, { force: options.force === true });
    if (started.replaced.length > 0)
      process.stderr.write(`overwrote your changes to ${started.replaced.join(", ")}\n`);
    process.stderr.write(
      `${lab.manifest.title}: ${started.dir}\n` +
        `edit ${started.editable.join(", ")} (README.md says what to build), then run \`pnpm labs grade\` there\n`,
    );
  });

program
  .command("validate")
  .description("check labs: the solution passes, the starter fails, every mutant fails")
  .argument("[lab-ids...]", "labs to validate")
  .option("--all", "validate every lab")
  .option("--quiet", "no per-stage progress")
  .addOption(sandboxOption())
  .addOption(jobsOption("grades to run at the same time"))
  .option(
    "--use-records",
    "grade mutants and probes only of labs whose validation-record.json is stale (CI); solutions and starters always",
  )
  .option(
    "--no-pool",
    "start every grade's services and learner containers on demand (slower; for comparison)",
  )
  .action(async (labIds, options) => {
    const labs = selectLabs(labIds, options.all === true);
    const root = labsRoot();
    const sandbox = await prepareRunner(options.sandbox);
    const jobs = options.jobs ?? defaultJobs();
    await using runtime = new GradingRuntime(labsNodeModules(root), options.pool ? poolFor(jobs) : noPool);
    const backlog = readStrengthBacklog(root);
    let allValid = true;
    const started = performance.now();
    for (const [index, lab] of labs.entries()) {
      // The next lab's environments start while this one's grades run.
      runtime.environments.prewarm(labs.slice(index, index + 2), sandbox);
      const report = await validateLab(lab, runtime, {
        sandbox,
        quiet: options.quiet === true,
        jobs,
        onStrengthBacklog: backlog.has(lab.manifest.id),
        useRecords: options.useRecords === true,
      });
      allValid &&= report.ok;
      process.stderr.write(
        `${report.ok ? "valid" : "INVALID"} ${report.labId} (${report.seconds.toFixed(1)} s)\n${report.lines.join("\n")}\n`,
      );
    }
    process.stderr.write(
      `${labs.length} lab(s) checked in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
    const pending = labs.filter((lab) => backlog.has(lab.manifest.id)).length;
    if (pending > 0)
      process.stderr.write(
        `${pending} of them still on labs/${strengthBacklogFile} (grader strength unproven)\n`,
      );
    process.exitCode = allValid ? 0 : 1;
  });

program
  .command("mutate")
  .description(
    "mutation-test labs' graders: generate mutants of each solution, grade them all, write mutation-report.json",
  )
  .argument("[lab-ids...]", "labs to mutate")
  .option("--all", "mutate every lab")
  .option("--quiet", "no line per mutant")
  .option("--fresh", "grade every mutant, not only those an interrupted run of the same files left")
  .addOption(sandboxOption())
  .addOption(jobsOption("mutants to grade at the same time"))
  .option("--no-pool", "start every grade's services and learner containers on demand (much slower)")
  .action(async (labIds, options) => {
    const labs = selectLabs(labIds, options.all === true);
    const sandbox = await prepareRunner(options.sandbox);
    const jobs = options.jobs ?? defaultJobs();
    await using runtime = new GradingRuntime(
      labsNodeModules(labsRoot()),
      options.pool ? poolFor(jobs) : noPool,
    );
    const started = performance.now();
    const strong = await mutateCommand(labs, runtime, {
      sandbox,
      jobs,
      quiet: options.quiet === true,
      journalDir: defaultJournalDir(),
      fresh: options.fresh === true,
      stopped: interrupted.signal,
    });
    process.stderr.write(
      `${labs.length} lab(s) mutated in ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
    );
    process.exitCode = strong ? 0 : 1;
  });

const mutant = program
  .command("mutant")
  .description("author a lab's hand-written mutants, which are stored as patches (mutants/<id>.patch)");

mutant
  .command("edit")
  .description("write a mutant's files into a folder, to edit them as files (a new id starts from its base)")
  .argument("<lab-id>")
  .argument("<mutant-id>")
  .argument("[dir]", "an empty or new folder (default: a temporary one)")
  .addOption(
    new Option("--base <tree>", "for a new mutant: the tree it changes")
      .choices(["solution", "second-solution"] as const)
      .default("solution" as const),
  )
  .action((labId, mutantId, dir, options) => {
    const lab = findLab(loadCatalog(labsRoot()), labId);
    const folder = editMutant(lab, mutantId, dir, options.base);
    process.stdout.write(`${folder}\n`);
    process.stderr.write(`edit the files, then: pnpm labs mutant save ${labId} ${mutantId} ${folder}\n`);
  });

mutant
  .command("save")
  .description(
    "store a folder of the lab's editable files as mutants/<id>.patch (adding it to lab.json if new)",
  )
  .argument("<lab-id>")
  .argument("<mutant-id>")
  .argument("<dir>", "a folder with the lab's editable files, one mistake in them")
  .option("--mistake <text>", "for a new mutant: the real-world mistake it encodes")
  .addOption(
    new Option("--base <tree>", "for a new mutant: the tree it changes")
      .choices(["solution", "second-solution"] as const)
      .default("solution" as const),
  )
  .addOption(
    new Option("--origin <who>", "for a new mutant: probe = written without reading the grader")
      .choices(["author", "probe"] as const)
      .default("author" as const),
  )
  .action((labId, mutantId, dir, options) => {
    const lab = findLab(loadCatalog(labsRoot()), labId);
    const declared = lab.manifest.mutants.some((mutant) => mutant.id === mutantId);
    const patchFile = saveMutant(lab, mutantId, dir, {
      base: options.base,
      origin: options.origin,
      ...(options.mistake && { mistake: options.mistake }),
    });
    process.stderr.write(`wrote ${patchFile}\n`);
    // lab.json is written as JSON.stringify lays it out; prettier (CI checks it) may lay it out otherwise,
    // and formatting it after a mutate run would make that run's report stale.
    if (!declared)
      process.stderr.write(
        `added ${mutantId} to lab.json: format it before anything else ` +
          `(pnpm exec prettier --write ${relative(process.cwd(), join(lab.dir, "lab.json"))})\n`,
      );
    process.stderr.write(`next: pnpm labs validate ${labId}\n`);
  });

program
  .command("new")
  .description("scaffold a lab that validates, to reshape into a real one")
  .argument("<section/slug>", "e.g. 04-caching/write-through")
  .action((target) => {
    const dir = scaffoldLab(labsRoot(), target);
    process.stderr.write(
      `created ${dir}\nnext: edit it, then \`pnpm labs mutate ${target.split("/")[1]}\` and \`pnpm labs validate ${target.split("/")[1]}\`\n`,
    );
  });

program
  .command("worker")
  .description("grade Runs from the web app's queue (the platform database) until stopped")
  .option("--database-url <url>", "the platform database (default: $DATABASE_URL)")
  .option("--concurrency <n>", "grades at the same time", "1")
  .option("--lease-seconds <s>", "how long a claim lasts unless renewed (renewed every third of it)", "30")
  .option(
    "--poll-seconds <s>",
    "how often to look for jobs whose worker died (new jobs wake the worker at once)",
    "5",
  )
  .addOption(
    new Option("--sandbox <kind>", "where learner code runs; process needs --trusted-code")
      .choices(["docker", "process"] as const)
      .default("docker" as const),
  )
  .option("--trusted-code", "allow --sandbox process: every submission comes from someone you trust")
  .option("--once", "grade one job, then exit")
  .option("--no-pool", "start every grade's services and learner containers on demand (slower)")
  .addOption(
    new Option("--prewarm <labs>", "start environments for every lab at start, or only once one is graded")
      .choices(["all", "none"] as const)
      .default("all" as const),
  )
  .option(
    "--health-port <port>",
    "serve /healthz (alive) and /readyz (database and Docker answer) on this port",
  )
  .option("--health-host <host>", "the address --health-port listens on", "0.0.0.0")
  .action(async (options) => {
    const settings = parseWorkerOptions(options);
    workerRunning = true;
    await runWorker(settings, workerStop.signal);
    process.exitCode = 0;
  });

/** `labs worker` stops gracefully on the first signal: no more claims, grades torn down, jobs released, exit 0. */
const workerStop = new AbortController();
/** Any other command: the first signal tears down the grades in flight, whose results then mean nothing. */
const interrupted = new AbortController();
let workerRunning = false;
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (workerRunning && !workerStop.signal.aborted) {
      process.stderr.write(`\n${signal}: the worker stops claiming, tears down and releases its job(s)...\n`);
      workerStop.abort();
      return;
    }
    // A second signal while stopping: stop waiting.
    if (stopping) process.exit(130);
    stopping = true;
    interrupted.abort();
    process.stderr.write(`\n${signal}: stopping services and learner processes...\n`);
    void tearDownInFlightGrades().finally(() => process.exit(130));
  });
}

try {
  await program.parseAsync();
} catch (error) {
  process.exitCode = exitCodeFor(error);
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message; help and version are not errors.
    return error.exitCode === 0 ? 0 : exitCodes.error;
  }
  if (
    error instanceof UsageError ||
    error instanceof CatalogError ||
    error instanceof LabNotFoundError ||
    error instanceof LabFormatError ||
    error instanceof LabTreeError ||
    error instanceof LearnerFolderError ||
    error instanceof DockerUnavailableError ||
    error instanceof HostFirewallError ||
    error instanceof DatabaseUnreachableError ||
    error instanceof BaselineFailedError ||
    error instanceof PlatformRefusalError
  ) {
    process.stderr.write(`labs: ${error.message}\n`);
    return exitCodes.error;
  }
  process.stderr.write(`labs: internal error: ${(error as Error).stack ?? String(error)}\n`);
  return exitCodes.error;
}
