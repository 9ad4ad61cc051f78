import { type GradeResult } from "@backend-labs/grade-result";

export function jsonReport(result: GradeResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}
