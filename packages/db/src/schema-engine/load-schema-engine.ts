import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import type * as Bindings from "@prisma/schema-engine-wasm/schema_engine_bg";

type SchemaEngineClass = typeof Bindings.SchemaEngine;

let loading: Promise<SchemaEngineClass> | undefined;

/**
 * The package's own entry imports the .wasm file as an ES module: Node 24.5+ does that with an
 * ExperimentalWarning, older Node only with --experimental-wasm-modules, bundlers not at all.
 * Instantiating the file here does the same wiring in any process (Next, vitest, scripts), no flag.
 * The bindings hold one instance per process.
 */
export function loadSchemaEngine(): Promise<SchemaEngineClass> {
  loading ??= instantiate();
  return loading;
}

/**
 * The part of the WebAssembly global used here. Node has the global, but only lib "dom" declares its
 * types, and this file is type-checked by packages with and without it.
 */
interface WebAssemblyApi {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, Record<string, unknown>>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
}

/** Where the engine writes a Rust panic's message before it aborts; Prisma's CLI keeps the same global. */
interface PanicRegistry {
  set_message(message: string): void;
}

async function instantiate(): Promise<SchemaEngineClass> {
  // A panic then surfaces as a bare "RuntimeError: unreachable"; the message is the only clue to its cause.
  (globalThis as { PRISMA_WASM_PANIC_REGISTRY?: PanicRegistry }).PRISMA_WASM_PANIC_REGISTRY ??= {
    set_message: (message) => console.error(`Prisma's schema engine panicked: ${message}`),
  };
  const bindings = await import("@prisma/schema-engine-wasm/schema_engine_bg");
  const require = createRequire(import.meta.url);
  const bindingsFile = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
  const wasm = await readFile(path.join(path.dirname(bindingsFile), "schema_engine_bg.wasm"));
  const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
  const { instance } = await webAssembly.instantiate(wasm, {
    "./schema_engine_bg.js": withUnrefTimers(bindings),
  });
  bindings.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return bindings.SchemaEngine;
}

/**
 * The engine arms timers (e.g. its 10 s advisory-lock timeout) and has no way to clear them, so a
 * finished migration would hold the process open until they fire. Unref'd, they still fire while the
 * engine works: its database connections keep the process alive until then.
 */
function withUnrefTimers(bindings: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(bindings).map(([name, value]) => {
      if (!name.startsWith("__wbg_setTimeout_") || typeof value !== "function") return [name, value];
      const arm = value as (...args: unknown[]) => NodeJS.Timeout;
      return [name, (...args: unknown[]) => arm(...args).unref()];
    }),
  );
}
