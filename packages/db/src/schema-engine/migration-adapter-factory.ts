import { randomUUID } from "node:crypto";
import { PrismaPg } from "@prisma/adapter-pg";
import {
  ColumnTypeEnum,
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import pg from "pg";

export interface MigrationAdapterFactory extends SqlMigrationAwareDriverAdapterFactory {
  /** Closes every connection the engine opened through this factory and drops its shadow databases. */
  disposeAll(): Promise<void>;
}

type PgAdapter = SqlDriverAdapter & { underlyingDriver(): pg.Pool };

/**
 * @prisma/adapter-pg for the schema engine, changed to behave like Prisma's native engine:
 * - one connection (max: 1), so the engine's advisory lock, its script and its unlock share a session;
 * - a migration script goes to Postgres whole, in one simple-protocol query (an implicit transaction),
 *   instead of being split on ";", which breaks on semicolons inside strings, comments and $$ bodies;
 * - catalog columns of type "char" (pg_constraint.contype, ...), which the engine reads when it describes
 *   a database, come back as Character columns: adapter-pg 7.10 rejects that type;
 * - connections are closed when the caller is done: the engine's free() leaves the main one open, and with
 *   it the advisory lock.
 */
export function migrationAdapterFactory(databaseUrl: string): MigrationAdapterFactory {
  const base = new PrismaPg({ connectionString: databaseUrl, max: 1 });
  const disposers: (() => Promise<void>)[] = [];
  const track = (adapter: PgAdapter, cleanup: () => Promise<void> = async () => {}) => {
    const close = adapter.dispose.bind(adapter);
    const dispose = once(async () => {
      await close();
      await cleanup();
    });
    adapter.dispose = dispose;
    disposers.push(dispose);
    return forMigrations(adapter);
  };

  return {
    provider: base.provider,
    adapterName: base.adapterName,
    connect: async () => track(await base.connect()),
    // adapter-pg's own shadow database keeps an extra pool open after it is dropped.
    connectToShadowDb: async () => {
      const name = `prisma_migrate_shadow_db_${randomUUID()}`;
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
      const shadowUrl = new URL(databaseUrl);
      shadowUrl.pathname = `/${encodeURIComponent(name)}`;
      const shadow = await new PrismaPg({ connectionString: shadowUrl.toString(), max: 1 }).connect();
      return track(shadow, async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)}`);
        await admin.end();
      });
    },
    disposeAll: async () => {
      await Promise.all(disposers.splice(0).map((dispose) => dispose()));
    },
  };
}

function forMigrations(adapter: PgAdapter): PgAdapter {
  readCharColumns(adapter);
  adapter.executeScript = async (script) => {
    try {
      await adapter.underlyingDriver().query(script);
    } catch (error) {
      throw asDriverAdapterError(error);
    }
  };
  return adapter;
}

/** The engine reports Postgres errors it recognises by SQLSTATE; anything else stays a JS error. */
function asDriverAdapterError(error: unknown): unknown {
  if (!(error instanceof pg.DatabaseError) || error.code === undefined) return error;
  return new DriverAdapterError({
    kind: "postgres",
    code: error.code,
    severity: error.severity ?? "ERROR",
    message: error.message,
    detail: error.detail,
    column: error.column,
    hint: error.hint,
  });
}

const charTypeOid = 18;
const textTypeOid = 25;

/**
 * adapter-pg decides a column's type from the pg result's type OID and throws on "char". The pool's
 * results have those columns relabelled as text (so the adapter accepts them) and remembered by their
 * rows array, which queryRaw passes through unchanged; queryRaw then reports them as Character.
 */
function readCharColumns(adapter: PgAdapter): void {
  const charColumns = new WeakMap<unknown[], number[]>();
  const pool = adapter.underlyingDriver();
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<pg.QueryResult | pg.QueryResult[]>;
  pool.query = (async (...args: unknown[]) => {
    const result = await query(...args);
    // A multi-statement script answers with one result per statement; only single queries are read.
    if (Array.isArray(result)) return result;
    const indexes = result.fields.flatMap((field, index) =>
      field.dataTypeID === charTypeOid ? [index] : [],
    );
    for (const index of indexes) result.fields[index]!.dataTypeID = textTypeOid;
    if (indexes.length > 0) charColumns.set(result.rows, indexes);
    return result;
  }) as typeof pool.query;

  const queryRaw = adapter.queryRaw.bind(adapter);
  adapter.queryRaw = async (sqlQuery) => {
    const resultSet = await queryRaw(sqlQuery);
    for (const index of charColumns.get(resultSet.rows) ?? [])
      resultSet.columnTypes[index] = ColumnTypeEnum.Character;
    return resultSet;
  };
}

function once(action: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= action());
}
