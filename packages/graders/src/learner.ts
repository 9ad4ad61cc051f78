import { controlApi } from "./control-client.ts";
import { gradingContext } from "./grading-context.ts";
import { LearnerInstance } from "./learner-instance.ts";

const started: LearnerInstance[] = [];

/** The copy of the learner's code the runner started before the suite ran. */
export function learner(): LearnerInstance {
  return new LearnerInstance(gradingContext().learner);
}

/** Starts another copy (a second instance, or a restart after kill()); it is stopped after the test file. */
export async function startLearner(env?: Record<string, string>): Promise<LearnerInstance> {
  const instance = new LearnerInstance(await controlApi.start(env ? { env } : {}));
  started.push(instance);
  return instance;
}

export async function stopStartedLearners(): Promise<void> {
  const instances = started.splice(0);
  await Promise.all(instances.map((instance) => instance.kill()));
}
