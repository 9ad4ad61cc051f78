import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lockedDependencyClosure } from "../src/catalog/locked-dependencies.ts";

function lockfileDir(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "locked-dependencies-"));
  writeFileSync(join(dir, "pnpm-lock.yaml"), text);
  return dir;
}

const lockfile = `lockfileVersion: '9.0'
importers:
  apps/runner:
    dependencies:
      '@scope/a':
        specifier: ^1.0.0
        version: 1.0.0(peer@2.0.0)
      shared:
        specifier: workspace:*
        version: link:../../packages/shared
  apps/web:
    dependencies:
      web-only:
        specifier: ^3.0.0
        version: 3.0.0
  packages/shared:
    devDependencies:
      b:
        specifier: ^2.0.0
        version: 2.0.0
snapshots:
  '@scope/a@1.0.0(peer@2.0.0)':
    dependencies:
      c: 4.0.0
      c-cjs: c@3.9.0
  b@2.0.0: {}
  c@4.0.0: {}
  c@3.9.0: {}
  web-only@3.0.0:
    dependencies:
      c: 4.0.0
`;

describe("lockedDependencyClosure", () => {
  it("follows a workspace's dependencies, its linked workspace packages and theirs, and nothing else", () => {
    expect(lockedDependencyClosure(lockfileDir(lockfile), ["apps/runner"])).toEqual([
      "@scope/a@1.0.0(peer@2.0.0)",
      "b@2.0.0",
      "c@3.9.0",
      "c@4.0.0",
    ]);
  });

  it("changes when a locked version in the closure changes, not when one outside it does", () => {
    const before = lockedDependencyClosure(lockfileDir(lockfile), ["apps/runner"]);
    const webBump = lockfile.replaceAll("3.0.0", "3.1.0");
    expect(lockedDependencyClosure(lockfileDir(webBump), ["apps/runner"])).toEqual(before);
    const runnerBump = lockfile.replaceAll("c: 4.0.0", "c: 4.0.1").replace("c@4.0.0: {}", "c@4.0.1: {}");
    expect(lockedDependencyClosure(lockfileDir(runnerBump), ["apps/runner"])).toContain("c@4.0.1");
  });

  it("names a workspace or package the lockfile does not lock", () => {
    expect(() => lockedDependencyClosure(lockfileDir(lockfile), ["apps/missing"])).toThrow(
      'pnpm-lock.yaml has no importer "apps/missing"',
    );
    const broken = lockfile.replace("b@2.0.0: {}\n", "");
    expect(() => lockedDependencyClosure(lockfileDir(broken), ["apps/runner"])).toThrow(
      'pnpm-lock.yaml has no snapshot "b@2.0.0"',
    );
  });
});
