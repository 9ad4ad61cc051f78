import pg from "pg";

export interface ListenConnectionOptions {
  /** A connection string or pg client settings for the dedicated LISTEN connection. */
  connection: string | pg.ClientConfig;
  channel: string;
  onNotification: (payload: string) => void;
  /**
   * Called each time LISTEN takes effect, the first time and after every reconnect: notifications sent
   * while no LISTEN was in effect are lost, so whoever waits on them must look at the database again.
   */
  onListening: () => void;
  /** A lost or refused connection; it is retried with backoff (100 ms doubling to 5 s). */
  onError?: (error: Error) => void;
}

const firstRetryMs = 100;
const maxRetryMs = 5_000;

/** One dedicated connection that LISTENs on a channel and reconnects whenever it is lost. */
export class ListenConnection {
  readonly #options: ListenConnectionOptions;
  #client: pg.Client | undefined;
  #retryMs = firstRetryMs;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #listening = false;

  constructor(options: ListenConnectionOptions) {
    this.#options = options;
    void this.#connect();
  }

  /** Whether LISTEN is in effect right now. */
  get listening(): boolean {
    return this.#listening;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listening = false;
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const settings =
      typeof this.#options.connection === "string"
        ? { connectionString: this.#options.connection }
        : this.#options.connection;
    // Keepalive notices a peer that vanished without closing (network cut), which LISTEN alone never would.
    const client = new pg.Client({ ...settings, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    this.#client = client;
    let lost = false;
    const lose = (error: Error) => {
      if (lost) return;
      lost = true;
      this.#listening = false;
      if (this.#client === client) this.#client = undefined;
      void client.end().catch(() => {});
      if (this.#closed) return;
      this.#options.onError?.(error);
      this.#retryTimer = setTimeout(() => void this.#connect(), this.#retryMs);
      this.#retryTimer.unref();
      this.#retryMs = Math.min(this.#retryMs * 2, maxRetryMs);
    };
    client.on("error", lose);
    client.on("end", () => lose(new Error("the LISTEN connection ended")));
    client.on("notification", (message) => {
      if (message.channel === this.#options.channel) this.#options.onNotification(message.payload ?? "");
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(this.#options.channel)}`);
    } catch (error) {
      lose(error as Error);
      return;
    }
    if (lost || this.#closed) return;
    this.#listening = true;
    this.#retryMs = firstRetryMs;
    this.#options.onListening();
  }
}
