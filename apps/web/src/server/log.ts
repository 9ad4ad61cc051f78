import pino, { type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";

/**
 * The web app's logger: JSON lines on stderr for a log pipeline, or readable lines when stderr is a
 * terminal. Child loggers add what a line is about (`log.child({ userId })`). Synchronous: a line is
 * written before a crash can lose it.
 */
export function createLogger(
  destination: DestinationStream | NodeJS.WritableStream = process.stderr,
  { readable = process.stderr.isTTY === true } = {},
): Logger {
  const options = { base: { service: "web" }, level: process.env.LOG_LEVEL ?? "info" };
  if (readable) return pino(options, pretty({ destination, sync: true, ignore: "pid,hostname,service" }));
  return pino(options, destination);
}

const holder = globalThis as typeof globalThis & { backendLabsLog?: Logger };

/** The process's logger (kept on globalThis so dev-mode reloads reuse it). */
export function log(): Logger {
  holder.backendLabsLog ??= createLogger();
  return holder.backendLabsLog;
}
