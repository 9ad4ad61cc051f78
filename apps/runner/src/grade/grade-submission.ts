import { randomUUID } from "node:crypto";
import { type GradeResult } from "@backend-labs/grade-result";
import { type GradingContext } from "@backend-labs/graders/grading-context";
import { type Lab } from "@backend-labs/lab-format";
import { DockerSandbox } from "../sandbox/docker-sandbox.ts";
import { type LearnerSandbox } from "../sandbox/learner-sandbox.ts";
import { ProcessSandbox } from "../sandbox/process-sandbox.ts";
import { sandboxImage } from "../sandbox/sandbox-image.ts";
import { assertDockerReachable } from "../services/docker-reachable.ts";
import { createGradeNetwork } from "../services/grade-network.ts";
import { removeGradeContainers } from "../services/remove-grade-containers.ts";
import { type ServicePlacement } from "../services/service-placement.ts";
import { type LabServices, startServices } from "../services/start-services.ts";
import { ServiceStartError } from "../services/started-service.ts";
import { buildResult, errorResult, type ResultParts } from "./build-result.ts";
import { buildWorkspace } from "./build-workspace.ts";
import { startControlServer } from "./control-server.ts";
import { type ProgressListener } from "./grade-progress.ts";
import { trackGrade } from "./in-flight-grades.ts";
import { LearnerProcesses, LearnerStartError } from "./learner-processes.ts";
import { runGraderSuite } from "./run-grader-suite.ts";
import { StageClock } from "./stage-clock.ts";
import { type Submission } from "./submission.ts";
import { formatTypeProblems, typecheckLearnerCode } from "./typecheck-learner-code.ts";
import { validateSubmission } from "./validate-submission.ts";

export interface GradeRequest {
  lab: Lab;
  submission: Submission;
  /** node_modules of the labs package: the libraries learner code may import. */
  labsNodeModules: string;
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
}

export type SandboxKind = "docker" | "process";

/** Limits of each copy of the learner's code. */
const learnerLimits = { memoryLimitMb: 512, cpus: 1, pidsLimit: 256, scratchMb: 64 } as const;

/**
 * grade(lab, submission) -> result. The stages run in order, each in its own module; whatever a stage
 * created is torn down at the end, whether the grade passed, failed, timed out or crashed.
 * Throws only for problems of the runner's machine (e.g. Docker unreachable), never for the learner's code,
 * and when `signal` aborts.
 */
export async function gradeSubmission(request: GradeRequest): Promise<GradeResult> {
  const clock = new StageClock();
  const resources = new AsyncDisposableStack();
  const services: GradeResult["services"] = {};
  const parts = (): ResultParts => ({ labId: request.lab.manifest.id, timings: clock.snapshot(), services });
  const untrack = trackGrade(resources);
  let result: GradeResult;
  try {
    result = await runStages(request, clock, resources, services, parts);
  } finally {
    request.onProgress?.({ type: "stage", stage: "teardown" });
    await clock.time("teardown_ms", () => resources.disposeAsync());
    untrack();
  }
  // Aborted while a stage returned early (e.g. a type error): still not a result anyone should keep.
  request.signal?.throwIfAborted();
  return { ...result, timings: clock.snapshot() };
}

async function runStages(
  {
    lab,
    submission,
    labsNodeModules,
    onProgress = () => {},
    gradeId = randomUUID(),
    sandbox: sandboxKind = "docker",
    signal,
  }: GradeRequest,
  clock: StageClock,
  resources: AsyncDisposableStack,
  services: GradeResult["services"],
  parts: () => ResultParts,
): Promise<GradeResult> {
  const { manifest } = lab;
  // Checked between stages: whatever a stage created is on `resources` by then, so the teardown gets it all.
  const stopIfAborted = () => signal?.throwIfAborted();

  stopIfAborted();
  onProgress({ type: "stage", stage: "validate" });
  const problems = await clock.time("validate_ms", () => validateSubmission(submission, manifest));
  if (problems.length > 0) {
    const lines = problems.map((problem) => `- ${problem.path}: ${problem.reason}`);
    return errorResult(parts(), `Your submission was not accepted:\n${lines.join("\n")}`);
  }
  stopIfAborted();
  onProgress({ type: "stage", stage: "workspace" });
  const workspace = resources.use(buildWorkspace(lab, submission, labsNodeModules));

  const needsServices = Object.keys(manifest.services).length > 0;
  let placement: ServicePlacement = { kind: "published" };
  if (needsServices || sandboxKind === "docker") {
    await assertDockerReachable();
    // Registered first, so it runs last: whatever the grade's containers' own teardown missed.
    resources.defer(() => removeGradeContainers(gradeId));
  }
  if (sandboxKind === "docker") {
    const network = resources.use(await createGradeNetwork(gradeId));
    placement = { kind: "grade-network", network: network.name };
  }

  let started: LabServices | undefined;
  stopIfAborted();
  if (needsServices) {
    try {
      started = resources.use(
        await clock.time("provision_ms", () =>
          startServices(lab, gradeId, placement, (names) =>
            onProgress({ type: "stage", stage: "provision", detail: `starting ${names.join(", ")}` }),
          ),
        ),
      );
    } catch (error) {
      if (error instanceof ServiceStartError || (error as Error).name === "ServiceVersionError") {
        return errorResult(parts(), (error as Error).message);
      }
      throw error;
    }
    for (const service of started.all)
      services[service.name] = { image: service.image, version: service.version };
  }

  stopIfAborted();
  onProgress({ type: "stage", stage: "typecheck" });
  const typeProblems = await clock.time("typecheck_ms", () => typecheckLearnerCode(workspace.dir));
  if (typeProblems.length > 0) {
    return errorResult(parts(), `Your code does not compile:\n${formatTypeProblems(typeProblems)}`);
  }

  stopIfAborted();
  onProgress({ type: "stage", stage: "start" });
  const callTimeoutMs = manifest.callTimeoutSeconds * 1000;
  const sandbox: LearnerSandbox =
    placement.kind === "grade-network"
      ? new DockerSandbox({
          image: sandboxImage(),
          gradeId,
          network: placement.network,
          workspaceDir: workspace.dir,
          entry: manifest.learner.entry,
          labsNodeModules,
          ...learnerLimits,
        })
      : new ProcessSandbox({
          gradeId,
          workspaceDir: workspace.dir,
          entry: manifest.learner.entry,
          memoryLimitMb: learnerLimits.memoryLimitMb,
          cpuSeconds: manifest.timeLimitSeconds,
        });
  const learners = resources.use(
    new LearnerProcesses({
      sandbox,
      http: manifest.learner.http,
      serviceEnv: Object.assign({}, ...(started?.all ?? []).map((service) => service.learnerEnv)) as Record<
        string,
        string
      >,
      // Starting includes Node's own start and the imports: give it room even when calls must be quick.
      startTimeoutMs: Math.max(callTimeoutMs, 15_000),
      memoryLimitMb: learnerLimits.memoryLimitMb,
    }),
  );
  const control = resources.use(await startControlServer(learners));
  let firstLearner;
  try {
    firstLearner = await clock.time("start_ms", () => learners.start());
  } catch (error) {
    if (error instanceof LearnerStartError) return errorResult(parts(), error.message);
    throw error;
  }
  const exported = await learners.exportedFunctions(firstLearner.id);
  const missing = manifest.learner.exports.filter((name) => !exported.includes(name));
  if (missing.length > 0) {
    const names = missing.map((name) => `\`${name}\``).join(", ");
    return errorResult(
      parts(),
      `${manifest.learner.entry} must export the function(s) ${names}, but it does not.`,
    );
  }

  const context: GradingContext = {
    labId: manifest.id,
    callTimeoutMs,
    control: { url: control.url, token: control.token },
    services: {
      ...(started?.postgres && {
        postgres: { adminUrl: started.postgres.adminUrl, learnerUrl: started.postgres.learnerRoleUrl },
      }),
      ...(started?.redis && {
        redis: { adminUrl: started.redis.adminUrl, learnerUrl: started.redis.learnerRoleUrl },
      }),
      ...(started?.kafka && {
        kafka: { brokers: started.kafka.brokers, hostAliases: started.kafka.hostAliases },
      }),
    },
    learner: firstLearner,
  };
  stopIfAborted();
  onProgress({ type: "stage", stage: "run" });
  const suite = await clock.time("run_ms", () =>
    runGraderSuite(
      lab,
      context,
      onProgress,
      { ms: manifest.timeLimitSeconds * 1000, onExpire: () => learners[Symbol.asyncDispose]() },
      signal,
    ),
  );
  // A suite cut short by the signal says nothing about the learner's code.
  stopIfAborted();
  const hang = learners.hang;
  const hangMessage = suite.timedOut
    ? `Timed out after ${manifest.timeLimitSeconds} s: the grader suite did not finish within the lab's time limit.`
    : hang
      ? `Your code timed out after ${manifest.callTimeoutSeconds} s in ${hang.what}: look for a loop that never ends or a promise that never settles.`
      : undefined;
  return buildResult(parts(), suite, hangMessage);
}
