import { z } from "zod";

const slug = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "use lower-case words joined by dashes, e.g. cache-aside");

/** A path inside the lab's learner workspace: relative, forward slashes, no `..`. */
export const workspacePath = z
  .string()
  .min(1)
  .refine(
    (path) => !path.startsWith("/") && !path.includes("\\"),
    "must be a relative path with / separators",
  )
  .refine((path) => path.split("/").every((part) => part !== ".." && part !== "." && part !== ""), {
    message: "must not contain '.', '..' or empty segments",
  });

const versionRange = z.string().min(1).describe('Semver range the running service must satisfy, e.g. ">=15"');

const postgresService = z
  .object({
    version: versionRange,
    seed: z
      .array(workspacePath)
      .default([])
      .describe(
        "SQL files (relative to the lab folder) run as the learner's role before the learner's code starts",
      ),
  })
  .strict();

const redisService = z.object({ version: versionRange }).strict();

const kafkaService = z
  .object({
    version: versionRange,
    topics: z
      .array(
        z
          .object({ name: z.string().min(1), partitions: z.number().int().min(1).max(64).default(1) })
          .strict(),
      )
      .default([])
      .describe("Topics created before the learner's code starts"),
  })
  .strict();

const task = z
  .object({
    id: z.number().int().min(1),
    title: z.string().min(3).max(120),
    hints: z
      .array(z.string().min(10))
      .min(1)
      .max(3)
      .describe("Nudges revealed one at a time; never the answer"),
  })
  .strict();

const mutant = z
  .object({
    id: slug,
    mistake: z.string().min(10).describe("The real-world mistake this known-wrong variant encodes"),
    base: z
      .enum(["solution", "second-solution"])
      .default("solution")
      .describe("The tree that mutants/<id>.patch applies to"),
    origin: z
      .enum(["author", "probe"])
      .default("author")
      .describe(
        "probe: written, with the second solution, by someone who had read only README.md, lab.json and starter/",
      ),
  })
  .strict();

/** A generated mutant that no test can tell from the solution, matched by what it changes (not by number). */
const equivalentMutant = z
  .object({
    file: workspacePath,
    line: z
      .number()
      .int()
      .min(1)
      .describe("Where it was found; a moved line still matches by the fields below"),
    mutator: z.string().min(1),
    original: z
      .string()
      .min(1)
      .describe("The code it replaces, whitespace collapsed, at most 120 characters"),
    replacement: z.string(),
    reason: z
      .string()
      .min(10)
      .describe("Why no behaviour the README promises can tell it apart, in one checkable line"),
  })
  .strict();

export const labManifestSchema = z
  .object({
    $schema: z.string().optional(),
    id: slug.describe("Unique across the catalog; what `labs grade <lab-id>` takes"),
    title: z.string().min(3).max(80),
    summary: z.string().min(10).max(300),
    roadmap: z
      .object({
        section: z.number().int().min(1).max(12).describe("Section number in the backend roadmap (1-12)"),
        topics: z.array(z.string().min(2)).min(1),
      })
      .strict(),
    difficulty: z.enum(["beginner", "intermediate", "advanced"]),
    estimatedMinutes: z.number().int().min(5).max(240),
    services: z
      .object({
        postgres: postgresService.optional(),
        redis: redisService.optional(),
        kafka: kafkaService.optional(),
      })
      .strict()
      .default({}),
    learner: z
      .object({
        entry: workspacePath.describe("Module the runner imports in the learner's process"),
        editable: z
          .array(workspacePath)
          .min(1)
          .describe("Files the learner may change; everything else is fixed"),
        exports: z
          .array(z.string().regex(/^[A-Za-z_$][\w$]*$/))
          .default([])
          .describe("Functions the entry module must export; a missing one is an `error` result"),
        http: z
          .boolean()
          .default(false)
          .describe("The entry module starts an HTTP server on process.env.PORT when imported"),
      })
      .strict(),
    tasks: z.array(task).min(1),
    timeLimitSeconds: z
      .number()
      .int()
      .min(10)
      .max(600)
      .describe("Wall-clock limit for running the grader suite"),
    callTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(120)
      .default(10)
      .describe("How long one call into the learner's code may take before it counts as hung"),
    mutants: z.array(mutant).default([]),
    secondSolution: z
      .object({
        design: z
          .string()
          .min(10)
          .describe(
            "How second-solution/ differs in design from solution/ (it was written from the README alone)",
          ),
      })
      .strict()
      .optional(),
    mutation: z
      .object({
        equivalent: z.array(equivalentMutant).default([]),
      })
      .strict()
      .default({ equivalent: [] })
      .describe("Settings of `labs mutate` (mutation testing of solution/)"),
  })
  .strict()
  .superRefine((manifest, ctx) => {
    manifest.tasks.forEach((entry, index) => {
      if (entry.id !== index + 1) {
        ctx.addIssue({
          code: "custom",
          path: ["tasks", index, "id"],
          message: `tasks are numbered 1, 2, 3... in order; expected ${index + 1}`,
        });
      }
    });
    const seen = new Set<string>();
    manifest.mutants.forEach((entry, index) => {
      if (seen.has(entry.id)) {
        ctx.addIssue({
          code: "custom",
          path: ["mutants", index, "id"],
          message: `duplicate mutant id ${entry.id}`,
        });
      }
      seen.add(entry.id);
    });
  });

export type LabManifest = z.output<typeof labManifestSchema>;
export type MutantDeclaration = LabManifest["mutants"][number];
export type EquivalentMutant = LabManifest["mutation"]["equivalent"][number];
export type ServiceName = keyof LabManifest["services"];
export const serviceNames = ["postgres", "redis", "kafka"] as const satisfies readonly ServiceName[];

/** The manifest schema as JSON Schema, for editors (lab.json's "$schema") and other tools. */
export function labManifestJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(labManifestSchema, { io: "input", target: "draft-2020-12" });
}
