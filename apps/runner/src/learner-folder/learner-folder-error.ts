/** A learner's folder that cannot be used as it is: the message says what to do. */
export class LearnerFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LearnerFolderError";
  }
}
