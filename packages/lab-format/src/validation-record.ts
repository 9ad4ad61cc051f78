import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { hashInputs } from "./inputs-hash.ts";
import { jsonWithLinePerEntry } from "./line-per-entry-json.ts";
import { type Lab, labFiles } from "./load-lab.ts";

/**
 * validation-record.json: which test caught each of a lab's mutants and probes when `labs validate` last
 * graded them all, and the inputs that proof holds for. Like a build cache keyed by content, it lets CI
 * skip re-grading the must-fail fixtures of a lab that changed in no way that could change those results
 * (`labs validate --use-records`); solutions and starters are graded every time.
 */
export const validationRecordSchema = z.strictObject({
  lab: z.string(),
  /** See validationInputsHash: any change to the lab's files or the grading platform makes it stale. */
  inputs: z.string(),
  fixtures: z.array(
    z.strictObject({
      id: z.string(),
      status: z.enum(["fail", "error"]),
      /** The grader tests that failed (a grade stops at the first). */
      caughtBy: z.array(z.string()),
    }),
  ),
});
export type ValidationRecord = z.infer<typeof validationRecordSchema>;

/** Every file of the lab folder but its own reports, and the hash of the platform that graded it. */
export function validationInputsHash(lab: Lab, platformHash: string): string {
  const inputs = [
    labFiles.manifest,
    labFiles.instructions,
    labFiles.promises,
    labFiles.starter,
    labFiles.solution,
    labFiles.secondSolution,
    labFiles.grader,
    labFiles.mutants,
    "fixtures",
  ];
  return hashInputs(lab.dir, inputs, `platform ${platformHash}`);
}

export function readValidationRecord(lab: Lab): ValidationRecord | undefined {
  const path = join(lab.dir, labFiles.validationRecord);
  if (!existsSync(path)) return undefined;
  const parsed = validationRecordSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
  return parsed.success ? parsed.data : undefined;
}

/** The record, if it still holds for the lab as it is now and covers exactly its declared mutants. */
export function freshValidationRecord(lab: Lab, platformHash: string): ValidationRecord | undefined {
  const record = readValidationRecord(lab);
  if (!record || record.inputs !== validationInputsHash(lab, platformHash)) return undefined;
  const recorded = record.fixtures.map((fixture) => fixture.id).sort();
  const declared = lab.manifest.mutants.map((mutant) => mutant.id).sort();
  return recorded.join("\n") === declared.join("\n") ? record : undefined;
}

export function writeValidationRecord(lab: Lab, record: ValidationRecord): void {
  const { fixtures, ...head } = record;
  writeFileSync(join(lab.dir, labFiles.validationRecord), jsonWithLinePerEntry(head, "fixtures", fixtures));
}
