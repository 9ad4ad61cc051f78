import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it, vi } from "vitest";
import { labCatalog } from "../src/server/labs/lab-catalog.ts";
import { labsDir } from "./support/router-harness.ts";

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  vi.restoreAllMocks();
});

function copyOfLabs(...labPaths: string[]): string {
  const root = mkdtempSync(join(tmpdir(), "web-labs-"));
  folders.push(root);
  for (const path of labPaths) cpSync(join(labsDir, path), join(root, path), { recursive: true });
  return root;
}

it("in development, shows an edited lab on the next read", () => {
  const root = copyOfLabs("03-databases/concurrent-transfers");
  const catalog = labCatalog(root, { reload: true });
  expect(catalog.find("concurrent-transfers")?.manifest.title).toBe("Concurrent Money Transfers");
  const manifestPath = join(root, "03-databases/concurrent-transfers/lab.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { title: string };
  writeFileSync(manifestPath, JSON.stringify({ ...manifest, title: "Transfers, edited" }));
  expect(catalog.find("concurrent-transfers")?.manifest.title).toBe("Transfers, edited");
});

it("skips an invalid lab, reports it once with its file and field, and keeps serving the others", () => {
  const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  const root = copyOfLabs("03-databases/concurrent-transfers", "04-caching/cache-aside");
  const brokenManifest = join(root, "04-caching/cache-aside/lab.json");
  writeFileSync(brokenManifest, JSON.stringify({ id: "cache-aside", title: "x" }));
  const catalog = labCatalog(root, { reload: true });
  expect(catalog.current().labs.map((lab) => lab.manifest.id)).toEqual(["concurrent-transfers"]);
  expect(catalog.current().invalid).toHaveLength(1);
  expect(catalog.find("cache-aside")).toBeUndefined();
  const reports = stderr.mock.calls
    .map(([text]) => String(text))
    .filter((text) => text.includes("invalid lab"));
  expect(reports).toHaveLength(1);
  expect(reports[0]).toContain(brokenManifest);
});
