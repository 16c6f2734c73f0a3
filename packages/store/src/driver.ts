/**
 * The little the SQL layer needs from a database connection, so that the
 * same statements run on a PostgreSQL server (pg) and on embedded PGlite.
 */
export interface SqlExecutor {
  query<R = Record<string, unknown>>(sql: string | Statement, params?: unknown[]): Promise<R[]>;
}

/**
 * A statement the server keeps parsed and planned per connection: for the
 * fixed statements of hot paths, whose planning costs more than running them.
 */
export interface Statement {
  name: string;
  text: string;
}

export function statement(name: string, text: string): Statement {
  return { name: `civitas_${name}`, text };
}

export const textOf = (sql: string | Statement): string => (typeof sql === 'string' ? sql : sql.text);

export interface TransactionOptions {
  /**
   * The commit returns before its WAL is on disk (`synchronous_commit = off`).
   * Only for bookkeeping that a server crash may undo without losing
   * anything, because what it records is then done again: a notification
   * queued or recorded as sent is sent once more, never missed.
   */
  asyncCommit?: boolean;
}

/**
 * Word between processes sharing one database of which entities changed,
 * for their entity caches (see EntityCache): the write statement announces
 * them on `channel` when it commits, and every process listens.
 */
export interface EntityAnnouncements {
  readonly channel: string;
  /**
   * Listens, reconnecting when the connection is lost: `onState(true)` once
   * announcements are heard (again), `onState(false)` from the moment they
   * may be missed. Returns a function that stops listening.
   */
  listen(onMessage: (payload: string) => void, onState: (listening: boolean) => void): () => Promise<void>;
}

export interface SqlDriver extends SqlExecutor {
  readonly kind: 'postgres' | 'embedded';
  /** Write statements of grouped mutations run side by side (see WriteGroups). */
  readonly writeLanes: number;
  /** More lanes, for large groups only (see SpareLanes): their statements run beside those of the others. */
  readonly largeWriteLanes: number;
  /**
   * Each lane reads and plans its next group while the write statement of
   * the last one runs, on a connection of its own: the server writes one
   * group while Civitas prepares the next, instead of each waiting for the
   * other. Statements still run one per lane, so they never stall each other.
   */
  readonly planAhead: boolean;
  /** Statements of coalesced single-entity reads in flight at once (see ReadBatches). */
  readonly readLanes: number;
  /**
   * Runs the statements of grouped mutations (the write lanes, two
   * connections each with planAhead). It finds the
   * rows a write replaces by plain index scans, never bitmap scans: a plain
   * scan marks the index entries of dead rows as it passes them, so that the
   * next write of an often-updated entity skips its superseded value rows
   * instead of visiting every one of them until a vacuum comes.
   */
  readonly writer: SqlExecutor;
  /**
   * Runs single statements of bookkeeping, each committed on its own with
   * `asyncCommit` (see TransactionOptions): one round trip, where a
   * transaction around the statement takes three.
   */
  readonly bookkeeper: SqlExecutor;
  /** Absent where no other process can share the database (the embedded store). */
  readonly announcements?: EntityAnnouncements;
  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}
