// Writes labs/lab.schema.json from the manifest's zod schema; `--check` fails when the file is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { labManifestJsonSchema } from "@backend-labs/lab-format";

export const schemaPath = fileURLToPath(new URL("../lab.schema.json", import.meta.url));

export function renderLabSchema(): string {
  return `${JSON.stringify(labManifestJsonSchema(), null, 2)}\n`;
}

if (import.meta.main) {
  const rendered = renderLabSchema();
  if (process.argv.includes("--check")) {
    if (readFileSync(schemaPath, "utf8") !== rendered) {
      console.error(`${schemaPath} is stale: run \`pnpm --filter @backend-labs/labs write-schema\``);
      process.exit(1);
    }
  } else {
    writeFileSync(schemaPath, rendered);
    console.log(`wrote ${schemaPath}`);
  }
}
