// Runs your checks (pricing-checks.ts) against one implementation of the pricing module. Do not change it.
//
// The grader calls runChecksAgainst() with the source of hidden variants of pricing.ts. Locally:
//   node src/run-checks.ts                  your checks against src/pricing.ts
//   node src/run-checks.ts my-variant.ts    your checks against a copy you broke on purpose
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { registerHooks } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type * as Checks from "./pricing-checks.ts";
import type * as Pricing from "./pricing.ts";

export interface CheckOutcome {
  /** true when checkPricing threw: your checks flagged this implementation. */
  caught: boolean;
  message: string;
}

const moduleUnderTest = new URL("./pricing.ts", import.meta.url).href;
const checksModule = new URL("./pricing-checks.ts", import.meta.url).href;
/** Run number -> file URL of the implementation that run tests. */
const implementations = new Map<string, string>();
let runs = 0;

// Each run imports a fresh copy of your checks (`pricing-checks.ts?run=N`). Whatever that copy imports from
// ./pricing.ts is swapped for the implementation under test too, so the checks see one module, not two.
registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    const run = context.parentURL ? new URL(context.parentURL).searchParams.get("run") : null;
    const implementation = run === null ? undefined : implementations.get(run);
    return resolved.url === moduleUnderTest && implementation
      ? { ...resolved, url: implementation }
      : resolved;
  },
});

/** Writes `source` (TypeScript) to a scratch file, imports it and runs your checkPricing() against it. */
export async function runChecksAgainst(source: string): Promise<CheckOutcome> {
  const run = String(++runs);
  // The workspace is read-only; the system's temp folder is not.
  const dir = mkdtempSync(join(tmpdir(), "pricing-under-test-"));
  const file = join(dir, "pricing.ts");
  writeFileSync(file, source);
  implementations.set(run, pathToFileURL(file).href);
  try {
    const impl = (await import(implementations.get(run)!)) as typeof Pricing;
    const checks = (await import(`${checksModule}?run=${run}`)) as typeof Checks;
    const checkPricing: (impl: typeof Pricing) => void | Promise<void> = checks.checkPricing;
    await checkPricing(impl);
    return { caught: false, message: "checkPricing completed without throwing" };
  } catch (error) {
    return { caught: true, message: describe(error) };
  } finally {
    implementations.delete(run);
    rmSync(dir, { recursive: true, force: true });
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `threw a non-Error value: ${String(error)}`;
}

if (import.meta.main) {
  const target = process.argv[2] ? resolve(process.argv[2]) : fileURLToPath(moduleUnderTest);
  const outcome = await runChecksAgainst(readFileSync(target, "utf8"));
  console.log(outcome.caught ? `CAUGHT ${target}\n${outcome.message}` : `passed: ${target}`);
}
