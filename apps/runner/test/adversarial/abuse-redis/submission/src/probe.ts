import { Redis } from "ioredis";

// Tries the administrative commands a hostile tenant would; the learner's ACL user must be refused.
export async function probe(): Promise<string> {
  const client = new Redis(process.env.REDIS_URL ?? "", { maxRetriesPerRequest: 0 });
  const attempts: [string, string[]][] = [
    ["config set dir", ["CONFIG", "SET", "dir", "/tmp"]],
    ["debug segfault", ["DEBUG", "SEGFAULT"]],
    ["flushall", ["FLUSHALL"]],
    ["shutdown", ["SHUTDOWN", "NOSAVE"]],
    ["module load", ["MODULE", "LOAD", "/tmp/evil.so"]],
    ["acl setuser", ["ACL", "SETUSER", "learner", "+@all"]],
  ];
  try {
    for (const [what, [command, ...args]] of attempts) {
      try {
        await client.call(command!, ...args);
        console.log(`${what}: succeeded`);
      } catch (error) {
        console.log(`${what}: ${(error as Error).message.slice(0, 40)}`);
      }
    }
  } finally {
    client.disconnect();
  }
  return "no canary";
}
