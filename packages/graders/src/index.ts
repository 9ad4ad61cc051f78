export { gradingContext, type GradingContext, type LearnerEndpoint } from "./grading-context.ts";
export { LearnerThrewError, LearnerTimeoutError, LearnerUnavailableError } from "./learner-errors.ts";
export { LearnerInstance, type Remote } from "./learner-instance.ts";
export { learner, startLearner } from "./learner.ts";
export { closeServiceClients, kafka, postgres, redis } from "./service-clients.ts";
export { task, taskIdFromSuiteName } from "./task.ts";
