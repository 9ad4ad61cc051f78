import { InvalidEnvironmentError, parseServerEnv } from "./env.ts";

export function exitOnInvalidEnvironment(): void {
  try {
    parseServerEnv();
  } catch (error) {
    if (!(error instanceof InvalidEnvironmentError)) throw error;
    process.stderr.write(`backend-labs web: ${error.message}\n`);
    process.exit(1);
  }
}
