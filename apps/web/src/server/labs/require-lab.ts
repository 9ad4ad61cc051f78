import type { Lab } from "@backend-labs/lab-format";
import { TRPCError } from "@trpc/server";
import type { LabCatalog } from "./lab-catalog.ts";

export function requireLab({ catalog }: { catalog: LabCatalog }, id: string): Lab {
  const lab = catalog.find(id);
  if (!lab) throw new TRPCError({ code: "NOT_FOUND", message: `There is no lab "${id}".` });
  return lab;
}
