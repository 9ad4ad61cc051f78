import { type GradeResult } from "@backend-labs/grade-result";

/** Makes a result comparable across runs and machines: no durations, temp paths, ports or versions. */
export function normalizeResult(result: GradeResult): GradeResult {
  const scrub = (text: string) =>
    text
      .replace(/\/tmp\/backend-labs-grade-[A-Za-z0-9]+/g, "<workspace>")
      .replace(/file:\/\/<workspace>/g, "<workspace>")
      .replace(/(127\.0\.0\.1|localhost):\d+/g, "$1:<port>")
      .replace(/\b\d+(\.\d+)? ?ms\b/g, "<n> ms")
      // Graders make unique names per test (dup-c2264b63, acct-1f2e3d4c...).
      .replace(/\b([A-Za-z]+)-[0-9a-f]{8}\b/g, "$1-<id>")
      .replace(/^\s+at .*node:internal.*$/gm, "    at <node internals>");
  const timings = Object.fromEntries(
    Object.keys(result.timings).map((key) => [key, 0]),
  ) as GradeResult["timings"];
  return {
    ...result,
    ...(result.message !== undefined && { message: scrub(result.message) }),
    tests: result.tests.map((test) => ({
      ...test,
      duration_ms: 0,
      ...(test.message !== undefined && { message: scrub(test.message) }),
      ...(test.output !== undefined && { output: scrub(test.output) }),
    })),
    timings,
    services: Object.fromEntries(
      Object.keys(result.services).map((name) => [name, { image: "<image>", version: "<version>" }]),
    ),
  };
}
