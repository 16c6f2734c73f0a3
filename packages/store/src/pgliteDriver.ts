/** The embedded driver: PostgreSQL with PostGIS compiled to WebAssembly, in-process. */
import { SqlDriver, SqlExecutor, Statement, textOf } from './driver';

export async function openPgliteDriver(dataDir?: string): Promise<SqlDriver> {
  // Loaded lazily: the server driver never pays for the WebAssembly build.
  const { PGlite } = await import('@electric-sql/pglite');
  const { postgis } = await import('@electric-sql/pglite-postgis');
  const db = await PGlite.create({ dataDir, extensions: { postgis } });
  // One process, one connection, statements already cheap to plan: names are not needed here.
  const run = async <R>(target: { query: typeof db.query }, sql: string | Statement, params?: unknown[]) =>
    (await target.query<R>(textOf(sql), params)).rows;
  return {
    kind: 'embedded',
    // One connection runs one transaction at a time anyway.
    writeLanes: 1,
    readLanes: 1,
    query: (sql, params) => run(db, sql, params),
    // PGlite has one connection; its transaction() queues concurrent callers.
    transaction: (fn, options) =>
      db.transaction(async (tx) => {
        if (options?.asyncCommit) await tx.query('SET LOCAL synchronous_commit TO off');
        return fn({ query: (sql, params) => run(tx, sql, params) } as SqlExecutor);
      }),
    close: () => db.close(),
  };
}
