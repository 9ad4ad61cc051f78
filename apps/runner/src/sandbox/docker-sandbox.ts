import Docker from "dockerode";
import {
  createWaitingContainer,
  type LearnerContainerSettings,
  needsFreshProcess,
} from "./learner-container.ts";
import { type LaunchRequest, type LearnerCopy, type LearnerSandbox } from "./learner-sandbox.ts";
import { type WarmLearnerContainers } from "./warm-learner-containers.ts";

export interface DockerSandboxSettings {
  container: LearnerContainerSettings;
  entry: string;
  /** Containers of the grade's environment already waiting for a copy; without them each launch creates one. */
  warm?: WarmLearnerContainers;
}

/**
 * Each copy of the learner's code runs in its own locked-down container on the grade environment's
 * internal network (learner-container.ts), with the workspace mounted read-only at /workspace.
 */
export class DockerSandbox implements LearnerSandbox {
  readonly kind = "docker";
  private readonly docker = new Docker();
  private readonly settings: DockerSandboxSettings;

  constructor(settings: DockerSandboxSettings) {
    this.settings = settings;
  }

  async launch({ env, onOutput }: LaunchRequest): Promise<LearnerCopy> {
    const { container: containerSettings, entry, warm } = this.settings;
    // A copy whose environment Node must see at start (NODE_OPTIONS) needs a process started with it.
    const fresh = needsFreshProcess(env);
    const waiting =
      (!fresh && warm?.take()) ||
      (await createWaitingContainer(this.docker, containerSettings, fresh ? env : {}));
    return waiting.start({ entry, env, onOutput });
  }
}
