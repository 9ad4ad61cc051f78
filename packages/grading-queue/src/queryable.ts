import type pg from "pg";

/** A pool, a pooled client or a client: statements that need no transaction of their own take any of them. */
export type Queryable = pg.Pool | pg.ClientBase;
