import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";

export interface WebAppBuild {
  /** True when turbo restored the build from its cache: no source it depends on changed. */
  cached: boolean;
  seconds: number;
  /** Lines of the build's output that start with "Warning: " (Turbopack's tracing warnings among them). */
  warnings: number;
  /** Where the build's full output is. */
  logFile: string;
}

export class WebAppBuildError extends Error {
  /** Everything turbo and the build printed. */
  readonly output: string;

  constructor(message: string, output: string) {
    super(message);
    this.name = "WebAppBuildError";
    this.output = output;
  }
}

/**
 * The web app's production build, through turbo: its cache key covers the web app's files, the packages'
 * sources and the locked dependencies (apps/web/turbo.json), so an unchanged tree restores `.next` in
 * seconds and any change rebuilds. Turbo keeps the build's output in a file: Turbopack prints hundreds of
 * lines that bury the one that matters. A failed build throws with everything turbo printed.
 */
export async function buildWebApp(repoRoot: string, env: NodeJS.ProcessEnv): Promise<WebAppBuild> {
  const started = performance.now();
  const turbo = createRequire(import.meta.url).resolve("turbo/bin/turbo");
  const args = [
    "run",
    "build",
    "--filter=@backend-labs/web",
    "--only",
    "--output-logs=errors-only",
    "--ui=stream",
  ];
  const build = spawn(process.execPath, [turbo, ...args], { cwd: repoRoot, env, stdio: "pipe" });
  let output = "";
  build.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  build.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => build.once("exit", resolve));
  const logFile = join(repoRoot, "apps/web/.turbo/turbo-build.log");
  if (code !== 0) throw new WebAppBuildError(`building the web app failed (exit ${code})`, output);
  const buildLog = existsSync(logFile) ? stripVTControlCharacters(readFileSync(logFile, "utf8")) : "";
  return {
    cached: /Cached:\s+1 cached/.test(stripVTControlCharacters(output)),
    seconds: (performance.now() - started) / 1000,
    warnings: buildLog.match(/^(?:\S+:build: )?Warning: /gm)?.length ?? 0,
    logFile,
  };
}
