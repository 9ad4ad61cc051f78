import { createColors } from "picocolors";
import { type GradeProgress, type GradingStage } from "@backend-labs/grade-result";

const stageLabels: Record<GradingStage, string> = {
  validate: "checking the submission",
  workspace: "preparing the workspace",
  provision: "starting services",
  typecheck: "type-checking",
  start: "starting your code",
  run: "running tests",
  teardown: "cleaning up",
};

/** Progress lines on stderr, so stdout stays clean for --format json/junit. */
export function progressPrinter(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): (event: GradeProgress) => void {
  const c = createColors(stream.isTTY === true);
  return (event) => {
    if (event.type === "stage") {
      stream.write(
        c.dim(`[${label}] ${stageLabels[event.stage]}${event.detail ? ` (${event.detail})` : ""}...\n`),
      );
    } else {
      const mark = { pass: c.green("✓"), fail: c.red("✗"), error: c.yellow("!") }[event.status];
      stream.write(`[${label}]   ${mark} ${event.name} ${c.dim(`${event.durationMs} ms`)}\n`);
    }
  };
}
