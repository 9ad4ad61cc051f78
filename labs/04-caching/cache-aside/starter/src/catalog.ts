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

/** The Redis key that caches one product. */
export const productKey = (id: string): string => `product:${id}`;

let pool: pg.Pool | undefined;
let client: Redis | undefined;

/** One pool per process, opened on first use. The table is described in the README. */
export function db(): pg.Pool {
  if (!pool) {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error("DATABASE_URL is not set");
    pool = new pg.Pool({ connectionString });
    // An idle connection that breaks is reported here; unhandled, it kills the process.
    pool.on("error", (error) => console.error("postgres pool error:", error.message));
  }
  return pool;
}

/** One Redis connection per process, opened on first use. */
export function redis(): Redis {
  if (!client) {
    const url = process.env.REDIS_URL;
    if (!url) throw new Error("REDIS_URL is not set");
    client = new Redis(url);
  }
  return client;
}

export async function getProduct(id: string): Promise<Product | null> {
  // TODO 1: serve a hit from Redis without touching Postgres; on a miss read Postgres and cache the
  //         product as JSON under productKey(id) for PRODUCT_TTL_SECONDS.
  // TODO 2: an unknown id is cached too, as the JSON text `null`, for MISSING_TTL_SECONDS.
  // TODO 4: concurrent misses for one id in this process share ONE database read.
  throw new Error(`getProduct(${id}) is not implemented yet`);
}

export async function updateProduct(id: string, changes: ProductChanges): Promise<Product> {
  // TODO 3: update the row, then invalidate the cached product, so no reader gets the old row afterwards.
  throw new Error(`updateProduct(${id}, ${JSON.stringify(changes)}) is not implemented yet`);
}

export async function createProduct(product: Product): Promise<Product> {
  // TODO 2: insert the row; a lookup just before may have cached the id as missing.
  throw new Error(`createProduct(${JSON.stringify(product)}) is not implemented yet`);
}
