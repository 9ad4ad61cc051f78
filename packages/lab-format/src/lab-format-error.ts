/** One thing wrong with a lab folder, named by file and (for the manifest) field. */
export interface LabProblem {
  file: string;
  field?: string;
  message: string;
}

export class LabFormatError extends Error {
  readonly problems: LabProblem[];

  constructor(labDir: string, problems: LabProblem[]) {
    super(
      `Lab ${labDir} is invalid:\n` +
        problems
          .map(
            (problem) => `  ${problem.file}${problem.field ? `: ${problem.field}` : ""}: ${problem.message}`,
          )
          .join("\n"),
    );
    this.name = "LabFormatError";
    this.problems = problems;
  }
}
