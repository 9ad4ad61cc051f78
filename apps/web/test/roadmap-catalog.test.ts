import { fileURLToPath } from "node:url";
import { discoverLabs } from "@backend-labs/lab-format";
import { expect, it } from "vitest";
import { roadmapCatalog } from "../src/roadmap-catalog.ts";

const labsRoot = fileURLToPath(new URL("../../../labs", import.meta.url));

it("places every lab of the repository under its roadmap section, all 12 sections listed", () => {
  const catalog = discoverLabs(labsRoot);
  const roadmap = roadmapCatalog(catalog);
  expect(roadmap.map((section) => section.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const placed = roadmap.flatMap((section) => section.labs.map((lab) => `${section.number}:${lab.id}`));
  expect(placed.sort()).toEqual(catalog.labs.map((lab) => `${lab.section.number}:${lab.manifest.id}`).sort());
});
