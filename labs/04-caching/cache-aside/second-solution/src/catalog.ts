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

interface ProductRow {
  id: string;
  name: string;
  price_cents: number;
}

const toProduct = (row: ProductRow): Product => ({ id: row.id, name: row.name, priceCents: row.price_cents });

interface Waiter {
  resolve: (product: Product | null) => void;
  reject: (error: unknown) => void;
}

/**
 * A database load in progress for one id, with everyone waiting on it. `abandoned` is set by a write that
 * committed while the load was running: its result may predate the write, so it must not be cached and no
 * later caller may join it.
 */
interface Flight {
  waiters: Waiter[];
  abandoned: boolean;
}

const flights = new Map<string, Flight>();

/** Called after a write to `id` committed, before its key is deleted: later misses start a fresh load. */
function abandonFlight(id: string): void {
  const flight = flights.get(id);
  if (flight) {
    flight.abandoned = true;
    flights.delete(id);
  }
}

async function runFlight(id: string, flight: Flight): Promise<void> {
  let outcome: { ok: true; product: Product | null } | { ok: false; error: unknown };
  try {
    const { rows } = await db().query<ProductRow>(
      "select id, name, price_cents from products where id = $1",
      [id],
    );
    const product = rows[0] ? toProduct(rows[0]) : null;
    // Checked and sent synchronously: a write that abandons this flight later sends its DEL after this SET
    // on the same connection, so the DEL wins.
    if (!flight.abandoned) {
      if (product) {
        await redis().set(productKey(id), JSON.stringify(product), "EX", PRODUCT_TTL_SECONDS);
      } else {
        await redis().set(productKey(id), "null", "EX", MISSING_TTL_SECONDS);
      }
    }
    outcome = { ok: true, product };
  } catch (error) {
    outcome = { ok: false, error };
  }
  if (flights.get(id) === flight) flights.delete(id);
  for (const waiter of flight.waiters) {
    if (outcome.ok) waiter.resolve(outcome.product);
    else waiter.reject(outcome.error);
  }
}

function loadShared(id: string): Promise<Product | null> {
  return new Promise<Product | null>((resolve, reject) => {
    const current = flights.get(id);
    if (current) {
      current.waiters.push({ resolve, reject });
      return;
    }
    const flight: Flight = { waiters: [{ resolve, reject }], abandoned: false };
    flights.set(id, flight);
    void runFlight(id, flight);
  });
}

export async function getProduct(id: string): Promise<Product | null> {
  const cached = await redis().get(productKey(id));
  if (cached !== null) return JSON.parse(cached) as Product | null;
  return loadShared(id);
}

export async function updateProduct(id: string, changes: ProductChanges): Promise<Product> {
  // One statement outside BEGIN: it has committed when the query returns, so the DEL below can only
  // happen after the commit.
  const { rows } = await db().query<ProductRow>(
    `update products
        set name = coalesce($2, name),
            price_cents = coalesce($3, price_cents),
            updated_at = now()
      where id = $1
      returning id, name, price_cents`,
    [id, changes.name ?? null, changes.priceCents ?? null],
  );
  if (!rows[0]) throw new Error(`product not found: ${id}`);
  abandonFlight(id);
  await redis().del(productKey(id));
  return toProduct(rows[0]);
}

export async function createProduct(product: Product): Promise<Product> {
  const { rows } = await db().query<ProductRow>(
    `insert into products (id, name, price_cents) values ($1, $2, $3)
     on conflict (id) do nothing
     returning id, name, price_cents`,
    [product.id, product.name, product.priceCents],
  );
  if (!rows[0]) throw new Error(`product ${product.id} already exists`);
  abandonFlight(product.id);
  await redis().del(productKey(product.id));
  return toProduct(rows[0]);
}
