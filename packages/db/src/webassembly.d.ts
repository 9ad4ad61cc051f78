// Node has the WebAssembly global, but neither the ES libs nor @types/node declare it (lib "dom" does):
// the part load-schema-engine.ts uses.
declare namespace WebAssembly {
  interface Instance {
    readonly exports: Record<string, unknown>;
  }
  function instantiate(
    bytes: Uint8Array,
    imports: Record<string, Record<string, unknown>>,
  ): Promise<{ instance: Instance }>;
}
