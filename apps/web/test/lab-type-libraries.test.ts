import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { discoverLabs, labFiles, type Lab, listFiles } from "@backend-labs/lab-format";
import {
  collectLabTypeLibraries,
  type LabTypeLibraries,
  servedLabTypeLibraries,
} from "../src/server/lab-type-libraries.ts";
import { typeLibrariesResponse } from "../src/app/api/labs/[labId]/types/type-libraries-response.ts";

const labsRoot = resolve(import.meta.dirname, "..", "..", "..", "labs");
const { labs } = discoverLabs(labsRoot);
const declarationFile = /\.d\.[cm]?ts$/;

function starterFiles(lab: Lab): Map<string, string> {
  const starterDir = join(lab.dir, labFiles.starter);
  return new Map(
    listFiles(starterDir).map((file) => [`file:///${file}`, readFileSync(join(starterDir, file), "utf8")]),
  );
}

/**
 * Type-checks files the way the editor's TypeScript worker sees them: everything under file:///, only the
 * served libraries and the given files exist, and the worker's default libraries.
 */
function typeErrors(payload: LabTypeLibraries, files: Map<string, string>): string[] {
  const virtualFiles = new Map([
    ...payload.libraries.map((library): [string, string] => [library.path, library.content]),
    ...files,
  ]);
  const libDir = dirname(ts.getDefaultLibFilePath(payload.compilerOptions));
  const read = (path: string): string | undefined =>
    virtualFiles.get(path) ?? (path.startsWith(libDir) ? ts.sys.readFile(path) : undefined);
  const host: ts.CompilerHost = {
    getSourceFile: (path, languageVersion) => {
      const text = read(path);
      return text === undefined ? undefined : ts.createSourceFile(path, text, languageVersion);
    },
    getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
    getDefaultLibLocation: () => libDir,
    writeFile: () => undefined,
    getCurrentDirectory: () => "file:///",
    getCanonicalFileName: (path) => path,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => "\n",
    fileExists: (path) => read(path) !== undefined,
    readFile: read,
  };
  const program = ts.createProgram({
    rootNames: [...files.keys()].filter((path) => path.endsWith(".ts")),
    options: payload.compilerOptions,
    host,
  });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
    return `${diagnostic.file?.fileName ?? "(project)"}: TS${diagnostic.code} ${message}`;
  });
}

describe.each(labs.map((lab) => [lab.manifest.id, lab] as const))("type libraries of %s", (_id, lab) => {
  const payload = collectLabTypeLibraries(lab, labsRoot);

  it("serves only package declarations and package.json files, never the lab's own files", () => {
    const secretFiles = [labFiles.solution, labFiles.mutants, labFiles.grader].flatMap((folder) =>
      listFiles(join(lab.dir, folder)).map((file) => ({
        file: `${folder}/${file}`,
        content: readFileSync(join(lab.dir, folder, file), "utf8").trim(),
      })),
    );
    expect(secretFiles.length).toBeGreaterThan(0);
    for (const { path, content } of payload.libraries) {
      expect(path === "file:///package.json" || path.startsWith("file:///node_modules/")).toBe(true);
      expect(path.endsWith("/package.json") || declarationFile.test(path)).toBe(true);
      expect(path).not.toContain(lab.dir);
      for (const secret of secretFiles) {
        if (content.includes(secret.content)) throw new Error(`${path} contains ${secret.file}`);
      }
    }
  });

  it("is enough for the starter files to type-check in the browser's file layout", () => {
    expect(typeErrors(payload, starterFiles(lab))).toEqual([]);
  });
});

describe("type libraries of concurrent-transfers", () => {
  const lab = labs.find((candidate) => candidate.manifest.id === "concurrent-transfers");
  if (!lab) throw new Error("the concurrent-transfers lab is missing");
  const payload = collectLabTypeLibraries(lab, labsRoot);
  const paths = payload.libraries.map((library) => library.path);

  it("holds @types/node, @types/pg and the packages @types/pg depends on, but no accidental hoisted ones", () => {
    expect(paths).toEqual(
      expect.arrayContaining([
        "file:///package.json",
        "file:///node_modules/@types/node/index.d.ts",
        "file:///node_modules/@types/node/package.json",
        "file:///node_modules/@types/pg/index.d.ts",
        "file:///node_modules/@types/pg/package.json",
        "file:///node_modules/pg-types/index.d.ts",
        "file:///node_modules/pg-protocol/package.json",
        "file:///node_modules/undici-types/index.d.ts",
      ]),
    );
    // @types/node's import("buffer") reaches the npm package `buffer` only through pnpm's hoisting.
    expect(paths.filter((path) => path.startsWith("file:///node_modules/buffer/"))).toEqual([]);
    expect(paths.filter((path) => path.includes("ioredis"))).toEqual([]);
  });

  it("reports a misspelt pg method as the runner would", () => {
    const files = starterFiles(lab);
    const bank = files.get("file:///src/bank.ts") ?? "";
    files.set("file:///src/bank.ts", `${bank}\nexport const broken = () => db().queryy("select 1");\n`);
    expect(typeErrors(payload, files)).toEqual([
      expect.stringMatching(
        /^file:\/\/\/src\/bank\.ts: TS2551 Property 'queryy' does not exist on type 'Pool'/,
      ),
    ]);
  });

  it("resolves relative .ts imports between the lab's files", () => {
    const files = starterFiles(lab);
    files.set(
      "file:///src/uses-bank.ts",
      `import { balance } from "./bank.ts";\nexport const b: string = balance("a");\n`,
    );
    expect(typeErrors(payload, files)).toEqual([
      expect.stringMatching(
        /^file:\/\/\/src\/uses-bank\.ts: TS2322 Type 'Promise<number>' is not assignable/,
      ),
    ]);
  });
});

describe("GET /api/labs/[labId]/types", () => {
  const get = (labId: string, headers: Record<string, string> = {}) =>
    typeLibrariesResponse(
      new Request(`http://localhost/api/labs/${labId}/types`, { headers }),
      labId,
      labs.find((lab) => lab.manifest.id === labId),
      labsRoot,
    );

  it("answers 404 with a JSON message for an unknown lab", async () => {
    const response = get("no-such-lab");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'unknown lab "no-such-lab"' });
  });

  it("serves the JSON with an ETag, and 304 when the client has it", async () => {
    const response = get("concurrent-transfers");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await response.json()).toMatchObject({
      labId: "concurrent-transfers",
      compilerOptions: { strict: true, allowImportingTsExtensions: true },
    });

    const etag = response.headers.get("etag");
    expect(etag).toMatch(/^".+"$/);
    const again = get("concurrent-transfers", { "if-none-match": etag ?? "" });
    expect(again.status).toBe(304);
    expect(again.body).toBeNull();
  });

  it("keeps serving the cached payload while the lab is unchanged", () => {
    const lab = labs.find((candidate) => candidate.manifest.id === "keyset-pagination");
    if (!lab) throw new Error("the keyset-pagination lab is missing");
    expect(servedLabTypeLibraries(lab, labsRoot)).toBe(servedLabTypeLibraries(lab, labsRoot));
  });
});
