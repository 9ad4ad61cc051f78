import { useEffect, useState } from "react";
// A type-only import: with verbatimModuleSyntax an inline `type` specifier would still load the server module.
import type { LabTypeLibraries } from "../../server/lab-type-libraries.ts";
import { typescriptDefaults } from "./monaco-environment.ts";

export type TypeLibrariesStatus = "loading" | "ready" | "failed";

/** One download per lab and page load: the payload is large (mostly @types/node) and never changes meanwhile. */
const downloads = new Map<string, Promise<LabTypeLibraries>>();

function download(labId: string): Promise<LabTypeLibraries> {
  let pending = downloads.get(labId);
  if (!pending) {
    pending = fetch(`/api/labs/${encodeURIComponent(labId)}/types`).then(async (response) => {
      if (!response.ok) throw new Error(`type libraries of ${labId}: HTTP ${response.status}`);
      return (await response.json()) as LabTypeLibraries;
    });
    // A failed download may be retried by the next editor of the lab.
    pending.catch(() => downloads.delete(labId));
    downloads.set(labId, pending);
  }
  return pending;
}

/** The lab whose libraries the (page-wide) TypeScript worker has. */
let installedLabId: string | undefined;

/** Gives the TypeScript worker the lab's compiler options and declaration files, then turns type checking on. */
function install(libraries: LabTypeLibraries): void {
  typescriptDefaults.setCompilerOptions(
    libraries.compilerOptions as Parameters<typeof typescriptDefaults.setCompilerOptions>[0],
  );
  typescriptDefaults.setExtraLibs(
    libraries.libraries.map((library) => ({ filePath: library.path, content: library.content })),
  );
  typescriptDefaults.setDiagnosticsOptions({ noSemanticValidation: false, noSyntaxValidation: false });
  installedLabId = libraries.labId;
}

export function useTypeLibraries(labId: string): TypeLibrariesStatus {
  const [status, setStatus] = useState<{ labId: string; status: TypeLibrariesStatus }>();
  useEffect(() => {
    let current = true;
    // Another lab's libraries would flag this lab's imports until its own arrive.
    if (installedLabId !== labId) {
      typescriptDefaults.setDiagnosticsOptions({ noSemanticValidation: true, noSyntaxValidation: false });
    }
    download(labId).then(
      (libraries) => {
        if (!current) return;
        install(libraries);
        setStatus({ labId, status: "ready" });
      },
      (error: unknown) => {
        if (!current) return;
        console.error(error);
        setStatus({ labId, status: "failed" });
      },
    );
    return () => {
      current = false;
    };
  }, [labId]);
  return status?.labId === labId ? status.status : "loading";
}
