import { type GradeResult } from "@backend-labs/grade-result";

/** Makes a result comparable across runs and machines: no durations, temp paths, ports or versions. */
export function normalizeResult(result: GradeResult): GradeResult {
  const scrub = (text: string) =>
    text
      .replace(/\/tmp\/backend-labs-runner-[0-9-]+\/grade-[A-Za-z0-9]+/g, "<workspace>")
      // The Docker sandbox mounts the workspace at /workspace.
      .replace(/file:\/\/\/workspace(?=\/)|(?<![\w/])\/workspace(?=\/)/g, "<workspace>")
      .replace(/file:\/\/<workspace>/g, "<workspace>")
      .replace(/(127\.0\.0\.1|localhost):\d+/g, "$1:<port>")
      // Grade networks: container names and addresses.
      .replace(/\bbackend-labs-[0-9a-f]{12}-(\w+)/g, "<$1 host>")
      .replace(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d+/g, "<address>:<port>")
      .replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z\b/g, "<time>")
      .replace(/\b\d+(\.\d+)? ?ms\b/g, "<n> ms")
      // Graders make unique names per test (dup-c2264b63, acct-1f2e3d4c...).
      .replace(/\b([A-Za-z]+)-[0-9a-f]{8}\b/g, "$1-<id>")
      .replace(/^\s+at .*node:internal.*$/gm, "    at <node internals>");
  // Durations vary; whether the grade's environment came from a pool is a matter of the runtime.
  const timings = Object.fromEntries(
    Object.keys(result.timings)
      .filter((key) => key !== "pool")
      .map((key) => [key, 0]),
  ) as unknown as GradeResult["timings"];
  return {
    ...result,
    ...(result.message !== undefined && { message: scrub(result.message) }),
    tests: result.tests.map(({ output, ...test }) => ({
      ...test,
      duration_ms: 0,
      ...(test.message !== undefined && { message: scrub(test.message) }),
      // What a passing test printed (client library logs, timing-dependent) is not part of the contract.
      ...(output !== undefined && test.status !== "pass" && { output: scrub(output) }),
    })),
    timings,
    services: Object.fromEntries(
      Object.keys(result.services).map((name) => [name, { image: "<image>", version: "<version>" }]),
    ),
  };
}
