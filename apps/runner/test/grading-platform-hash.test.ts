import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runnerGradingFolders } from "../src/catalog/grading-platform-hash.ts";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((match) =>
    resolve(dirname(file), match[1]!),
  );
}

describe("the grading platform hash", () => {
  it("covers everything the runner's grading folders import, so a record can only be stale, never wrongly fresh", () => {
    const hashed = runnerGradingFolders.map((folder) => join(repoRoot, folder));
    const outside = hashed.flatMap(sourceFiles).flatMap((file) =>
      relativeImports(file)
        .filter((target) => target.startsWith(join(repoRoot, "apps/runner/src")))
        .filter((target) => !hashed.some((folder) => target.startsWith(`${folder}/`)))
        .map((target) => `${relative(repoRoot, file)} imports ${relative(repoRoot, target)}`),
    );
    expect(outside, "move the imported code into a grading folder, or add its folder to the hash").toEqual(
      [],
    );
  });

  it("covers every workspace package the grading path imports, directly or through another hashed package", () => {
    // The hashed package sources, as grading-platform-hash.ts lists them ("packages/<name>/src").
    const hashFile = readFileSync(join(repoRoot, "apps/runner/src/catalog/grading-platform-hash.ts"), "utf8");
    const hashedPackages = [...hashFile.matchAll(/"packages\/([a-z-]+)\/src"/g)].map((match) => match[1]!);
    expect(hashedPackages).toContain("grade-result");
    const hashedSources = [
      ...runnerGradingFolders.map((folder) => join(repoRoot, folder)),
      ...hashedPackages.map((name) => join(repoRoot, "packages", name, "src")),
    ];
    const unhashed = hashedSources.flatMap(sourceFiles).flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(/from\s+"@backend-labs\/([a-z-]+)/g)]
        .map((match) => match[1]!)
        .filter((name) => !hashedPackages.includes(name))
        .map((name) => `${relative(repoRoot, file)} imports @backend-labs/${name}`),
    );
    expect(
      unhashed,
      "add the package's src to gradingPlatformPaths, or import it outside the grading path",
    ).toEqual([]);
  });
});
