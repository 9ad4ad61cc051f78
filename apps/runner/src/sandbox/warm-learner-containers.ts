import type Docker from "dockerode";
import {
  createWaitingContainer,
  type LearnerContainerSettings,
  type WaitingContainer,
} from "./learner-container.ts";

/**
 * Learner containers of one grade environment, created ahead of demand and waiting for a workspace, so a
 * copy of the learner's code starts in about the time Node's import of it takes. Refilled in the
 * background after each take.
 */
export class WarmLearnerContainers implements AsyncDisposable {
  private readonly waiting: WaitingContainer[] = [];
  private creating = 0;
  private filling: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly docker: Docker;
  private readonly settings: LearnerContainerSettings;
  private readonly target: number;

  constructor(docker: Docker, settings: LearnerContainerSettings, target: number) {
    this.docker = docker;
    this.settings = settings;
    this.target = target;
  }

  /** A waiting container, or undefined when none is ready (the caller then creates one itself). */
  take(): WaitingContainer | undefined {
    const taken = this.waiting.shift();
    this.fill();
    return taken;
  }

  /** Starts creating containers up to the target; `ready()` resolves when they exist. */
  fill(): void {
    const missing = this.target - this.waiting.length - this.creating;
    if (this.stopped || missing <= 0) return;
    this.creating += missing;
    const created = Array.from({ length: missing }, () =>
      createWaitingContainer(this.docker, this.settings)
        .then(
          async (container) => {
            if (this.stopped) await container.remove();
            else this.waiting.push(container);
          },
          // The next launch creates its container itself and reports what goes wrong there.
          () => undefined,
        )
        .finally(() => this.creating--),
    );
    this.filling = Promise.all([this.filling, ...created]).then(() => undefined);
  }

  ready(): Promise<void> {
    return this.filling;
  }

  /** Removes the waiting containers; fill() starts over. */
  async clear(): Promise<void> {
    const stopped = this.stopped;
    this.stopped = true;
    await this.filling;
    await Promise.all(this.waiting.splice(0).map((container) => container.remove()));
    this.stopped = stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.stopped = true;
    await this.filling;
    await Promise.all(this.waiting.splice(0).map((container) => container.remove()));
  }
}
