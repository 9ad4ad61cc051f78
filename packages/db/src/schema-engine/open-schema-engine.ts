import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import type { SchemaEngine } from "@prisma/schema-engine-wasm";
import { loadSchemaEngine } from "./load-schema-engine.ts";
import { migrationAdapterFactory } from "./migration-adapter-factory.ts";

export interface OpenSchemaEngine {
  engine: SchemaEngine;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Prisma's wasm schema engine connected to databaseUrl. Its API is internal to Prisma: the package
 * versions are pinned exactly in package.json.
 */
export async function openSchemaEngine(
  databaseUrl: string,
  schema?: { path: string; content: string },
): Promise<OpenSchemaEngine> {
  const SchemaEngineClass = await loadSchemaEngine();
  const factory = migrationAdapterFactory(databaseUrl);
  const datamodels: [string, string][] | undefined = schema ? [[schema.path, schema.content]] : undefined;
  const engine = await SchemaEngineClass.new(
    { datamodels },
    () => {},
    bindMigrationAwareSqlAdapterFactory(factory),
  );
  return {
    engine,
    [Symbol.asyncDispose]: async () => {
      engine.free();
      await factory.disposeAll();
    },
  };
}
