import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPrismaClient, JobState, type PrismaClient, ResultStatus, Role } from "../src/index.ts";
import { startTestDatabase, type TestDatabase, truncateAll } from "../src/testing/index.ts";

let database: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  database = await startTestDatabase();
  prisma = createPrismaClient(database.url, { maxConnections: 2 });
});
afterAll(async () => {
  await prisma.$disconnect();
  await database[Symbol.asyncDispose]();
});
beforeEach(() => truncateAll(database.url));

describe("createPrismaClient", () => {
  it("stores a user and reads it back with the schema's defaults", async () => {
    const created = await prisma.user.create({
      data: { email: "ada@example.test", passwordHash: "$argon2id$x" },
    });

    const found = await prisma.user.findUniqueOrThrow({ where: { email: "ada@example.test" } });
    expect(found).toEqual(created);
    expect(found.role).toBe(Role.learner);
    expect(found.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(found.createdAt).toBeInstanceOf(Date);
  });

  it("stores a submission with its files and result, and its events in order", async () => {
    const user = await prisma.user.create({ data: { email: "grace@example.test", passwordHash: "h" } });
    const files = { "src/cache.ts": "export const get = () => 1;\n" };
    const submission = await prisma.submission.create({
      data: { userId: user.id, labId: "demo-lab", files },
    });
    expect(submission.state).toBe(JobState.queued);
    expect(submission.attempts).toBe(0);

    const result = { version: 3, status: "pass", tests: [{ name: "caches", status: "pass" }] };
    await prisma.submission.update({
      where: { id: submission.id },
      data: { state: JobState.finished, resultStatus: ResultStatus.pass, result, finishedAt: new Date() },
    });
    await prisma.submissionEvent.createMany({
      data: [
        { submissionId: submission.id, attempt: 1, payload: { type: "claimed" } },
        { submissionId: submission.id, attempt: 1, payload: { type: "finished" } },
      ],
    });

    const read = await prisma.submission.findUniqueOrThrow({
      where: { id: submission.id },
      include: { events: { orderBy: { id: "asc" } }, user: true },
    });
    expect(read.files).toEqual(files);
    expect(read.result).toEqual(result);
    expect(read.resultStatus).toBe(ResultStatus.pass);
    expect(read.user.email).toBe("grace@example.test");
    expect(read.events.map((event) => event.payload)).toEqual([{ type: "claimed" }, { type: "finished" }]);
    expect(typeof read.events[0]?.id).toBe("bigint");
  });

  it("starts each test from empty tables after truncateAll", async () => {
    expect(await prisma.user.count()).toBe(0);
    expect(await prisma.submission.count()).toBe(0);
  });

  it("deletes a user's submissions with the user (ON DELETE CASCADE)", async () => {
    const user = await prisma.user.create({ data: { email: "linus@example.test", passwordHash: "h" } });
    await prisma.submission.create({ data: { userId: user.id, labId: "demo-lab", files: {} } });

    await prisma.user.delete({ where: { id: user.id } });
    expect(await prisma.submission.count()).toBe(0);
  });
});
