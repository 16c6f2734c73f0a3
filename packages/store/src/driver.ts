/**
 * The little the SQL layer needs from a database connection, so that the
 * same statements run on a PostgreSQL server (pg) and on embedded PGlite.
 */
export interface SqlExecutor {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
}

export interface SqlDriver extends SqlExecutor {
  readonly kind: 'postgres' | 'embedded';
  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Calls `fn` on every NOTIFY on `channel` from any connection (servers only: the embedded store has one process). */
  listen?(channel: string, fn: () => void): Promise<void>;
  close(): Promise<void>;
}
