import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Catalog, discoverLabs, type Lab } from "@backend-labs/lab-format";

/** The labs folder or its libraries are missing: the runner cannot grade anything. */
export class CatalogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CatalogError";
  }
}

/** No valid lab has that id. */
export class LabNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabNotFoundError";
  }
}

/** labs/ at the repository root, unless BACKEND_LABS_LABS_DIR points elsewhere. */
export function labsRoot(): string {
  return resolve(
    process.env.BACKEND_LABS_LABS_DIR ?? fileURLToPath(new URL("../../../../labs", import.meta.url)),
  );
}

export function labsNodeModules(root: string): string {
  const dir = join(root, "node_modules");
  if (!existsSync(dir)) throw new CatalogError(`${dir} is missing: run \`pnpm install\` first`);
  return dir;
}

export function loadCatalog(root: string): Catalog {
  if (!existsSync(root)) throw new CatalogError(`no labs folder at ${root}`);
  return discoverLabs(root);
}

export function findLab(catalog: Catalog, id: string): Lab {
  const lab = catalog.labs.find((candidate) => candidate.manifest.id === id);
  if (lab) return lab;
  const broken = catalog.invalid.find((error) => error.message.includes(`/${id}`));
  if (broken) throw new LabNotFoundError(broken.message);
  const known = catalog.labs.map((candidate) => candidate.manifest.id).join(", ");
  throw new LabNotFoundError(
    `unknown lab id "${id}". Known labs: ${known || "(none)"}. See \`pnpm labs list\`.`,
  );
}
