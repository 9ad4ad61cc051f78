import { type Lab } from "@backend-labs/lab-format";
import { findLab, LabNotFoundError, loadCatalog } from "../catalog/labs-catalog.ts";

/**
 * The job's lab, from the catalog as it is on disk now (labs edited since the worker started are picked
 * up). An unknown or invalid lab is the job's problem, not the worker's: it comes back as a message for
 * the learner, with the details for the worker's log.
 */
export function labForJob(
  labsRoot: string,
  labId: string,
): { lab: Lab } | { learnerMessage: string; detail: string } {
  const catalog = loadCatalog(labsRoot);
  try {
    return { lab: findLab(catalog, labId) };
  } catch (error) {
    if (!(error instanceof LabNotFoundError)) throw error;
    return {
      learnerMessage: `The lab "${labId}" cannot be graded: the grading server has no valid lab with that id. Please tell the course staff.`,
      detail: error.message,
    };
  }
}
