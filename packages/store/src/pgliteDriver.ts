/** The embedded driver: PostgreSQL with PostGIS compiled to WebAssembly, in-process. */
import type { PGlite } from '@electric-sql/pglite';
import { SqlDriver, SqlExecutor, Statement, textOf } from './driver';
import { migrate } from './migrations';

/**
 * `template` is a data directory dump (see migratedTemplate) that an
 * in-memory database starts from, instead of installing PostGIS and the
 * migrations, which takes PGlite some ten seconds. A database on disk keeps
 * what its directory holds.
 */
export async function openPgliteDriver(dataDir?: string, template?: Blob): Promise<SqlDriver> {
  if (dataDir !== undefined && template) throw new Error('A template is for an in-memory embedded store, not one kept in a directory');
  return driverOver(await createPglite(dataDir, template));
}

/** A database with PostGIS and every migration installed, as a dump that openPgliteDriver can start from. */
export async function migratedTemplate(): Promise<Blob> {
  const db = await createPglite();
  try {
    await migrate(driverOver(db));
    return await db.dumpDataDir('none');
  } finally {
    await db.close();
  }
}

async function createPglite(dataDir?: string, template?: Blob): Promise<PGlite> {
  // Loaded lazily: the server driver never pays for the WebAssembly build.
  const { PGlite } = await import('@electric-sql/pglite');
  const { postgis } = await import('@electric-sql/pglite-postgis');
  return PGlite.create({ dataDir, extensions: { postgis }, loadDataDir: template });
}

function driverOver(db: PGlite): SqlDriver {
  // One process, one connection, statements already cheap to plan: names are not needed here.
  const run = async <R>(target: { query: typeof db.query }, sql: string | Statement, params?: unknown[]) =>
    (await target.query<R>(textOf(sql), params)).rows;
  // PGlite has one connection; its transaction() queues concurrent callers.
  const transaction: SqlDriver['transaction'] = (fn, options) =>
    db.transaction(async (tx) => {
      if (options?.asyncCommit) await tx.query('SET LOCAL synchronous_commit TO off');
      return fn({ query: (sql, params) => run(tx, sql, params) } as SqlExecutor);
    });
  return {
    kind: 'embedded',
    // One connection runs one statement at a time anyway, on the thread that would plan the next group.
    writeLanes: 1,
    largeWriteLanes: 0,
    planAhead: false,
    readLanes: 1,
    query: (sql, params) => run(db, sql, params),
    // Its one connection serves reads too, whose plans need bitmap scans.
    writer: { query: (sql, params) => run(db, sql, params) },
    bookkeeper: { query: (sql, params) => transaction((tx) => tx.query(sql, params), { asyncCommit: true }) },
    transaction,
    close: () => db.close(),
  };
}
