// Read by the stock `prisma` CLI on a normal machine (prisma generate, prisma migrate deploy).
// process.env rather than env(): env() throws when DATABASE_URL is unset, which would break
// `prisma generate` on install.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL },
});
