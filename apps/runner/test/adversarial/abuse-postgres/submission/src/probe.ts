import pg from "pg";

// Tries what a superuser could do; the learner's role must be refused every time.
export async function probe(): Promise<string> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  const attempts: [string, string][] = [
    ["copy from program", "create temp table loot (line text); copy loot from program 'cat /etc/passwd'"],
    ["alter system", "alter system set log_min_messages = 'debug5'"],
    ["pg_read_file", "select pg_read_file('/etc/passwd')"],
    ["create role", "create role intruder superuser login"],
  ];
  try {
    for (const [what, sql] of attempts) {
      try {
        await client.query(sql);
        console.log(`${what}: succeeded`);
      } catch (error) {
        console.log(`${what}: ${(error as Error).message}`);
      }
    }
  } finally {
    await client.end();
  }
  const other = new pg.Client({ connectionString: process.env.DATABASE_URL?.replace(/\/lab$/, "/postgres") });
  try {
    await other.connect();
    console.log("database postgres: connected");
    await other.end();
  } catch (error) {
    console.log(`database postgres: ${(error as Error).message}`);
  }
  return "no canary";
}
