import { loader } from "@monaco-editor/react";
import * as monaco from "monaco-editor";

// Monaco and its workers are bundled from the npm package: nothing is fetched from a CDN. (Importing only
// monaco-editor/editor and the TypeScript feature saves under 3%: the TypeScript feature pulls in every
// editor contribution anyway.)
globalThis.MonacoEnvironment = {
  getWorker(_workerId, label) {
    if (label === "typescript" || label === "javascript") {
      return new Worker(
        new URL("monaco-editor/languages/features/typescript/ts.worker.js", import.meta.url),
        {
          type: "module",
          name: label,
        },
      );
    }
    return new Worker(new URL("monaco-editor/editor/editor.worker.js", import.meta.url), {
      type: "module",
      name: label,
    });
  },
};

// @monaco-editor/react would otherwise load Monaco from a CDN wherever its <Editor> is used.
loader.config({ monaco });

const { typescriptDefaults } = monaco.typescript;
// Fixed files are imported by the editable ones but never opened: the worker must know them anyway.
typescriptDefaults.setEagerModelSync(true);
// Until the lab's type libraries arrive every `import pg from "pg"` would be an error: syntax only.
typescriptDefaults.setDiagnosticsOptions({ noSemanticValidation: true, noSyntaxValidation: false });

export { monaco, typescriptDefaults };
