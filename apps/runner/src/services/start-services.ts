import { type Lab } from "@backend-labs/lab-format";
import semver from "semver";
import { serviceImage } from "./service-images.ts";
import { type ServicePlacement } from "./service-placement.ts";
import { startKafka, type StartedKafka } from "./start-kafka.ts";
import { startPostgres, type StartedPostgres } from "./start-postgres.ts";
import { startRedis, type StartedRedis } from "./start-redis.ts";
import { type StartedService } from "./started-service.ts";

export interface LabServices extends AsyncDisposable {
  postgres?: StartedPostgres;
  redis?: StartedRedis;
  kafka?: StartedKafka;
  all: StartedService[];
}

/**
 * Stage 3: starts the services the lab declares, in parallel. If one fails, the ones that did start are
 * stopped before the error propagates.
 */
export async function startServices(
  lab: Lab,
  gradeId: string,
  placement: ServicePlacement,
  onStarting: (names: string[]) => void,
): Promise<LabServices> {
  const declared = lab.manifest.services;
  const names = Object.keys(declared);
  onStarting(names);
  const settled = await Promise.allSettled([
    declared.postgres
      ? startPostgres({
          image: serviceImage("postgres"),
          gradeId,
          labDir: lab.dir,
          seedFiles: declared.postgres.seed,
          placement,
        })
      : undefined,
    declared.redis ? startRedis({ image: serviceImage("redis"), gradeId, placement }) : undefined,
    declared.kafka
      ? startKafka({ image: serviceImage("kafka"), gradeId, topics: declared.kafka.topics, placement })
      : undefined,
  ]);
  const [postgres, redis, kafka] = settled.map((outcome) =>
    outcome.status === "fulfilled" ? outcome.value : undefined,
  ) as [StartedPostgres | undefined, StartedRedis | undefined, StartedKafka | undefined];
  const all = [postgres, redis, kafka].filter(
    (service): service is NonNullable<typeof service> => service !== undefined,
  );
  const dispose = async () => {
    await Promise.allSettled(all.map((service) => service[Symbol.asyncDispose]()));
  };
  const failure = settled.find((outcome) => outcome.status === "rejected");
  if (failure) {
    await dispose();
    throw failure.reason;
  }
  for (const service of all) {
    const range = declared[service.name]?.version;
    const coerced = semver.coerce(service.version);
    if (range && coerced && !semver.satisfies(coerced, range)) {
      await dispose();
      throw new ServiceVersionError(service, range);
    }
  }
  return {
    ...(postgres && { postgres }),
    ...(redis && { redis }),
    ...(kafka && { kafka }),
    all,
    [Symbol.asyncDispose]: dispose,
  };
}

export class ServiceVersionError extends Error {
  constructor(service: StartedService, range: string) {
    super(`The lab needs ${service.name} ${range}, but image ${service.image} runs ${service.version}`);
    this.name = "ServiceVersionError";
  }
}
