import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { discoverLabs, roadmapSections } from "@backend-labs/lab-format";
import { describe, expect, it } from "vitest";
import { renderLabSchema, schemaPath } from "./write-lab-schema.ts";

const labsRoot = fileURLToPath(new URL("..", import.meta.url));

describe("the lab catalog", () => {
  it("has a lab.schema.json that matches the manifest schema", () => {
    expect(readFileSync(schemaPath, "utf8"), "run `pnpm --filter @backend-labs/labs write-schema`").toBe(
      renderLabSchema(),
    );
  });

  it("loads every lab folder without a format problem", () => {
    const catalog = discoverLabs(labsRoot);
    expect(catalog.invalid.map((error) => error.message)).toEqual([]);
    expect(catalog.labs.length).toBeGreaterThan(0);
  });

  it("keeps only roadmap section folders at the top level, so no lab is silently skipped", () => {
    const allowed = new Set<string>([
      ...roadmapSections.map((section) => section.folder),
      "node_modules",
      "scripts",
    ]);
    // Hidden folders (.turbo, ...) belong to tools, not to the catalog.
    const folders = readdirSync(labsRoot, { withFileTypes: true }).filter(
      (entry) => entry.isDirectory() && !entry.name.startsWith("."),
    );
    expect(folders.map((entry) => entry.name).filter((name) => !allowed.has(name))).toEqual([]);
  });
});
