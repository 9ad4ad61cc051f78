import { type ServiceName } from "@backend-labs/lab-format";

/** Official images by default; each can be replaced by an environment variable (infra/ builds local stand-ins). */
const defaults: Record<ServiceName, { variable: string; image: string }> = {
  postgres: { variable: "BACKEND_LABS_POSTGRES_IMAGE", image: "postgres:18" },
  redis: { variable: "BACKEND_LABS_REDIS_IMAGE", image: "redis:8" },
  kafka: { variable: "BACKEND_LABS_KAFKA_IMAGE", image: "apache/kafka:3.9.1" },
};

export function serviceImage(service: ServiceName, env: NodeJS.ProcessEnv = process.env): string {
  const { variable, image } = defaults[service];
  return env[variable]?.trim() || image;
}
