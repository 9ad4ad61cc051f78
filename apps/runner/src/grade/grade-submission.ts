import { randomUUID } from "node:crypto";
import { errorGradeResult, type GradeResult, type ProgressListener } from "@backend-labs/grade-result";
import { type GradingContext } from "@backend-labs/graders/grading-context";
import { type Lab } from "@backend-labs/lab-format";
import { type SandboxKind } from "../environments/environment-shape.ts";
import { type AcquiredEnvironment } from "../environments/environment-pool.ts";
import { learnerLimits } from "../environments/grade-environment.ts";
import { DockerSandbox } from "../sandbox/docker-sandbox.ts";
import { type LearnerSandbox } from "../sandbox/learner-sandbox.ts";
import { ProcessSandbox } from "../sandbox/process-sandbox.ts";
import { diagnosePostgresHang } from "../services/diagnose-postgres-hang.ts";
import { assertDockerReachable } from "../host/docker-reachable.ts";
import { ServiceStartError, ServiceVersionError } from "../services/service-server.ts";
import { runGraderSuite, type SuiteRunOptions } from "../suites/run-grader-suite.ts";
import { formatTypeProblems } from "../typecheck/typecheck-learner-code.ts";
import { buildResult } from "./build-result.ts";
import { workspaceFiles, writeWorkspace } from "./build-workspace.ts";
import { startControlServer } from "./control-server.ts";
import { type GradingRuntime } from "./grading-runtime.ts";
import { trackGrade } from "./in-flight-grades.ts";
import { LearnerProcesses, LearnerStartError } from "./learner-processes.ts";
import { StageClock } from "./stage-clock.ts";
import { type Submission } from "./submission.ts";
import { validateSubmission } from "./validate-submission.ts";

export type { SandboxKind };

export interface GradeRequest {
  lab: Lab;
  submission: Submission;
  /** The warm parts the grade uses (pool, type-checker, vitest instances) and where its teardown runs. */
  runtime: GradingRuntime;
  onProgress?: ProgressListener;
  gradeId?: string;
  /**
   * Where learner code runs: `docker` (the default; a locked-down container per copy on the grade's own
   * network) or `process` (a child process: for trusted code only; see docs/security.md).
   */
  sandbox?: SandboxKind;
  /**
   * Stops the grade early (a worker lost its lease, or is shutting down): the running stage is cut short
   * where it can be (the grader suite), the grade tears down, and gradeSubmission throws the signal's reason.
   */
  signal?: AbortSignal;
  /** How the grader suite runs: all of it by default; mutation runs stop at the first failure. */
  suite?: SuiteRunOptions;
}

/** A service of the grade's environment stopped or restarted while it ran: the result says nothing about the code. */
export class EnvironmentLostError extends Error {
  constructor() {
    super(
      "A service container of the grade stopped or restarted while the grade ran (was the Docker engine " +
        "restarted?), so its result would not be about the submission. Grade it again.",
    );
    this.name = "EnvironmentLostError";
  }
}

/**
 * grade(lab, submission) -> result. The stages run in order, each in its own module; the services are
 * handed out while the code is type-checked. The result is returned before the teardown, which runs on
 * the runtime, whether the grade passed, failed, timed out or crashed.
 * Throws only for problems of the runner's machine (e.g. Docker unreachable), never for the learner's code,
 * and when `signal` aborts.
 */
export async function gradeSubmission(request: GradeRequest): Promise<GradeResult> {
  const clock = new StageClock();
  const resources = new AsyncDisposableStack();
  const untrack = trackGrade(resources);
  const tearDown = async () => {
    try {
      await resources.disposeAsync();
    } finally {
      untrack();
    }
  };
  let result: GradeResult;
  try {
    result = await runStages(request, clock, resources);
    // Aborted while a stage returned early (e.g. a type error): still not a result anyone should keep.
    request.signal?.throwIfAborted();
  } catch (error) {
    await tearDown();
    throw error;
  }
  request.runtime.afterResult(tearDown);
  return { ...result, timings: { ...result.timings, ...clock.snapshot() } };
}

async function runStages(
  {
    lab,
    submission,
    runtime,
    onProgress = () => {},
    gradeId = randomUUID(),
    sandbox: sandboxKind = "docker",
    signal,
    suite: suiteOptions,
  }: GradeRequest,
  clock: StageClock,
  resources: AsyncDisposableStack,
): Promise<GradeResult> {
  const { manifest } = lab;
  const services: GradeResult["services"] = {};
  let pool: AcquiredEnvironment["pool"] | undefined;
  const error = (message: string) =>
    errorGradeResult(manifest.id, message, {
      timings: { ...clock.snapshot(), ...(pool && { pool }) },
      services,
    });
  // Checked between stages: whatever a stage created is on `resources` by then, so the teardown gets it all.
  const stopIfAborted = () => signal?.throwIfAborted();

  stopIfAborted();
  onProgress({ type: "stage", stage: "validate" });
  const problems = await clock.time("validate_ms", () => validateSubmission(submission, manifest));
  if (problems.length > 0) {
    const lines = problems.map((problem) => `- ${problem.path}: ${problem.reason}`);
    return error(`Your submission was not accepted:\n${lines.join("\n")}`);
  }
  onProgress({ type: "stage", stage: "workspace" });
  const files = workspaceFiles(lab, submission);

  // The environment is handed out (or started) while the code is type-checked.
  stopIfAborted();
  const needsServices = Object.keys(manifest.services).length > 0;
  if (needsServices || sandboxKind === "docker") await assertDockerReachable();
  if (needsServices)
    onProgress({
      type: "stage",
      stage: "provision",
      detail: `starting ${Object.keys(manifest.services).join(", ")}`,
    });
  onProgress({ type: "stage", stage: "typecheck" });
  const [acquired, typeProblems] = await Promise.allSettled([
    clock.time("provision_ms", () => runtime.environments.acquire(lab, sandboxKind, gradeId)),
    clock.time("typecheck_ms", () =>
      runtime.typechecker.check({
        labsNodeModules: runtime.labsNodeModules,
        name: manifest.id,
        files: new Map([...files].map(([path, content]) => [path, content.toString("utf8")])),
      }),
    ),
  ]);
  // Until the learner's code starts, the environment is as it was handed out.
  let untouched = true;
  if (acquired.status === "fulfilled") {
    const { environment } = acquired.value;
    pool = acquired.value.pool;
    Object.assign(services, acquired.value.prepared.versions);
    // Registered first, so it runs last: the environment goes back to the pool once the copies are gone.
    resources.defer(async () =>
      runtime.environments.release(environment, { healthy: await environment.healthy(), untouched }),
    );
  }
  if (acquired.status === "rejected") {
    if (acquired.reason instanceof ServiceStartError || acquired.reason instanceof ServiceVersionError)
      return error(acquired.reason.message);
    throw acquired.reason;
  }
  if (typeProblems.status === "rejected") throw typeProblems.reason;
  if (typeProblems.value.length > 0)
    return error(`Your code does not compile:\n${formatTypeProblems(typeProblems.value)}`);
  const { environment, prepared } = acquired.value;

  stopIfAborted();
  onProgress({ type: "stage", stage: "start" });
  untouched = false;
  writeWorkspace(
    environment.workspaceDir,
    files,
    sandboxKind === "docker" ? "mountpoint" : { link: runtime.labsNodeModules },
  );
  const callTimeoutMs = manifest.callTimeoutSeconds * 1000;
  const sandbox: LearnerSandbox =
    sandboxKind === "docker" && environment.learnerContainer
      ? new DockerSandbox({
          container: environment.learnerContainer,
          entry: manifest.learner.entry,
          ...(environment.warm && { warm: environment.warm }),
        })
      : new ProcessSandbox({
          gradeId,
          workspaceDir: environment.workspaceDir,
          entry: manifest.learner.entry,
          memoryLimitMb: learnerLimits.memoryLimitMb,
          cpuSeconds: manifest.timeLimitSeconds,
        });
  const learners = resources.use(
    new LearnerProcesses({
      sandbox,
      http: manifest.learner.http,
      serviceEnv: prepared.learnerEnv,
      // Starting includes Node's own start and the imports: give it room even when calls must be quick.
      startTimeoutMs: Math.max(callTimeoutMs, 15_000),
      memoryLimitMb: learnerLimits.memoryLimitMb,
      ...(prepared.services.postgres && {
        diagnoseHang: () => diagnosePostgresHang(prepared.services.postgres!.adminUrl),
      }),
    }),
  );
  const control = resources.use(await startControlServer(learners));
  let firstLearner;
  try {
    firstLearner = await clock.time("start_ms", () => learners.start());
  } catch (startError) {
    if (startError instanceof LearnerStartError) return error(startError.message);
    throw startError;
  }
  const exported = await learners.exportedFunctions(firstLearner.id);
  const missing = manifest.learner.exports.filter((name) => !exported.includes(name));
  if (missing.length > 0) {
    const names = missing.map((name) => `\`${name}\``).join(", ");
    return error(`${manifest.learner.entry} must export the function(s) ${names}, but it does not.`);
  }

  const context: GradingContext = {
    labId: manifest.id,
    callTimeoutMs,
    control: { url: control.url, token: control.token },
    services: prepared.services,
    learner: firstLearner,
    ...(suiteOptions?.onMutantCoverage && { collectMutantCoverage: true }),
  };
  stopIfAborted();
  onProgress({ type: "stage", stage: "run" });
  const suite = await clock.time("run_ms", () =>
    runGraderSuite(
      runtime.suites,
      lab,
      context,
      onProgress,
      { ms: manifest.timeLimitSeconds * 1000, onExpire: () => learners[Symbol.asyncDispose]() },
      signal,
      suiteOptions,
    ),
  );
  // A suite cut short by the signal says nothing about the learner's code; nor does one whose services died.
  stopIfAborted();
  if (!(await environment.healthy())) throw new EnvironmentLostError();
  const hang = learners.hang;
  const hangMessage = suite.timedOut
    ? `Timed out after ${manifest.timeLimitSeconds} s: the grader suite did not finish within the lab's time limit.`
    : hang
      ? `Your code timed out after ${manifest.callTimeoutSeconds} s in ${hang.what}: ` +
        `${hang.diagnosis ?? "look for a loop that never ends or a promise that never settles"}.`
      : undefined;
  return buildResult(
    { labId: manifest.id, timings: { ...clock.snapshot(), ...(pool && { pool }) }, services },
    suite,
    hangMessage,
  );
}
