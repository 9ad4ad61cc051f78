import { InvalidEnvironmentError, parseServerEnv } from "./env.ts";
import { log } from "./log.ts";

export function exitOnInvalidEnvironment(): void {
  try {
    parseServerEnv();
  } catch (error) {
    if (!(error instanceof InvalidEnvironmentError)) throw error;
    log().fatal(error.message);
    process.exit(1);
  }
}
