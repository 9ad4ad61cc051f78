import { type Lab, type ServiceName, serviceNames } from "@backend-labs/lab-format";

/** Where learner code runs: a locked-down container per copy (default) or, for trusted code, a process. */
export type SandboxKind = "docker" | "process";

/** What a grade environment holds: the sandbox it serves and the services it runs. Labs of one shape share environments. */
export interface EnvironmentShape {
  sandbox: SandboxKind;
  services: ServiceName[];
}

export function shapeOf(lab: Lab, sandbox: SandboxKind): EnvironmentShape {
  return { sandbox, services: serviceNames.filter((name) => lab.manifest.services[name] !== undefined) };
}

export function shapeKey(shape: EnvironmentShape): string {
  return `${shape.sandbox}:${shape.services.join("+") || "no services"}`;
}
