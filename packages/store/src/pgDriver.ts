/** The PostgreSQL server driver: a pg connection pool, optionally confined to one schema. */
import { createHash, randomUUID } from 'node:crypto';
import { Client, Pool, PoolClient, QueryConfig } from 'pg';
import type { EntityAnnouncements, SqlDriver, SqlExecutor, Statement, TransactionOptions } from './driver';

const executor = (client: Pool | PoolClient): SqlExecutor => ({
  query: async <R>(sql: string | Statement, params?: unknown[]) =>
    (typeof sql === 'string' ? await client.query(sql, params) : await client.query({ name: sql.name, text: sql.text, values: params })).rows as R[],
});

export async function openPgDriver(url: string, schema?: string): Promise<SqlDriver> {
  const connections = Number(process.env.CIVITAS_DB_POOL_SIZE ?? 10);
  // Few lanes make large groups, whose shared statements cost the server least; the other connections serve reads and the
  // notifier. One lane keeps single-entity updates steadiest: concurrent write statements stall each other when the update
  // rate rises. A lane's second connection lets it prepare its next group meanwhile (SqlDriver.planAhead): the overlap that
  // made a second lane write more batch-upsert rows per second (bench/README.md, "One write lane against two").
  const lanesPossible = Math.floor((connections - 2) / 2);
  const writeLanes = Math.max(1, Math.min(Number(process.env.CIVITAS_WRITE_LANES ?? 1), lanesPossible));
  // Large groups (batch upserts, an IoT agent's backlog) gain from a statement beside another's: a lane of their own.
  const largeWriteLanes = Math.max(0, Math.min(Number(process.env.CIVITAS_LARGE_WRITE_LANES ?? 1), lanesPossible - writeLanes));
  // Each lane has two connections (see SqlDriver.planAhead); one more records the notifier's bookkeeping; the rest serve
  // everything else.
  const shared = Math.max(1, connections - 2 * (writeLanes + largeWriteLanes) - 1);
  // Reads take a share of those; fewer lanes make larger batches of coalesced reads. One by default: a statement costs
  // PostgreSQL a wake-up and an execution whatever the ids it reads, and with one lane the reads that come during a
  // round trip all go in the next (retrieve by id under load: half the statements of two lanes, 8-50% more requests/s).
  const readLanes = Math.max(1, Math.min(Number(process.env.CIVITAS_READ_LANES ?? 1), shared));
  // Every connection sees the broker's schema first and PostGIS (public) after it. JIT is off: its compile time
  // (tens of milliseconds) is paid by statements whose set-returning functions make the planner over-estimate them.
  const settings = `-c jit=off${schema ? ` -c search_path=${schema},public` : ''}`;
  const poolOf = (max: number, extra = '') => {
    const pool = new Pool({
      connectionString: url,
      max,
      options: settings + extra,
      // Connections stay open once made: one opened under load costs its requests the server's start-up and the planning of
      // every named statement again (a second of 100 ms updates when load came back after ten idle seconds).
      idleTimeoutMillis: 0,
    });
    pool.on('error', (e) => console.error('PostgreSQL connection error', e));
    return pool;
  };
  const pool = poolOf(shared);
  // The write lanes' own connections (see SqlDriver.writer). A bitmap scan would find a hot entity's value rows together
  // with every dead version of them (7,659 index entries for 37 entities after a minute of 1,000 updates/s).
  const writePool = poolOf(2 * (writeLanes + largeWriteLanes), ' -c enable_bitmapscan=off');
  const bookkeepingPool = poolOf(1, ' -c synchronous_commit=off');
  const base = executor(pool);
  const driver: SqlDriver = {
    kind: 'postgres',
    writeLanes,
    largeWriteLanes,
    planAhead: true,
    readLanes,
    query: base.query,
    writer: executor(writePool),
    bookkeeper: executor(bookkeepingPool),
    async transaction(fn, options?: TransactionOptions) {
      const client = await pool.connect();
      try {
        // One round trip: a simple query may hold both statements.
        await client.query(options?.asyncCommit ? 'BEGIN; SET LOCAL synchronous_commit TO off' : 'BEGIN');
        const result = await fn(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    async close() {
      await Promise.all([pool.end(), writePool.end(), bookkeepingPool.end()]);
    },
  };
  try {
    if (schema) {
      if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`Invalid schema name ${schema}`);
      // IF NOT EXISTS still races between processes; the lock serialises them.
      await driver.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
        await tx.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      });
    }
    // The schema the tables are in, as the server resolves it: processes that name it differently (unset and `public`) share
    // its entities, and so must share its announcements.
    const [{ name }] = await driver.query<{ name: string | null }>('SELECT current_schema() AS name');
    return { ...driver, announcements: announcementsOn(url, settings, name ?? '', pool) };
  } catch (e) {
    await driver.close();
    throw e;
  }
}

/** An arbitrary constant shared by every Civitas process. */
const SCHEMA_LOCK_KEY = 726_584_392;

/** Reconnecting after a lost listening connection waits this long. */
const RELISTEN_MS = 1_000;
/**
 * How often a process checks that announcements reach it: it announces a
 * probe of its own through its other connections, and the listening
 * connection must hear it within two periods, or it is replaced. A
 * listening connection gone silent (a network partition sends no reset),
 * or one that cannot hear at all (LISTEN through a transaction-pooling
 * proxy), would otherwise leave the cache answering stale entities.
 */
const HEARTBEAT_MS = 2_000;
/** Announcements that are probes (see HEARTBEAT_MS), not entity changes. */
const PROBE = 'probe:';

/**
 * Announcements on a channel of the schema's own: NOTIFY channels are
 * database-wide, and processes on other schemas of the database write other
 * entities. Probes go through `pool`.
 */
function announcementsOn(url: string, settings: string, schema: string, pool: Pool): EntityAnnouncements {
  const channel = `civitas_entities_${createHash('sha1').update(schema).digest('hex').slice(0, 24)}`;
  return {
    channel,
    listen(onMessage, onState) {
      const me = `${PROBE}${randomUUID()}:`;
      let probes = 0;
      let stopped = false;
      let current: Client | undefined;
      let retry: NodeJS.Timeout | undefined;
      const connect = async () => {
        const client = new Client({ connectionString: url, options: settings, connectionTimeoutMillis: HEARTBEAT_MS, query_timeout: HEARTBEAT_MS });
        // Current from the start: closing while it connects ends it too.
        current = client;
        let lost = false;
        let heartbeat: NodeJS.Timeout | undefined;
        /** The probe sent and not heard yet, and when it was sent. */
        let awaited: { payload: string; at: number } | undefined;
        let hearing = false;
        const onLost = (e?: unknown) => {
          if (lost) return;
          lost = true;
          clearInterval(heartbeat);
          if (current === client) current = undefined;
          client.end().catch(() => undefined);
          if (stopped) return;
          if (e) console.error('Entity announcements: listening connection lost', e);
          onState(false);
          retry = setTimeout(() => void connect(), RELISTEN_MS);
        };
        const probe = () => {
          if (awaited) {
            if (Date.now() - awaited.at >= 2 * HEARTBEAT_MS) onLost(new Error('its own probe was not heard in time'));
            return;
          }
          awaited = { payload: `${me}${++probes}`, at: Date.now() };
          // A probe that fails to go is noticed as unheard. Its deadline frees a connection gone silent from the pool.
          // (pg honours query_timeout per query; its types know it only as a client setting.)
          const config: QueryConfig & { query_timeout: number } = { text: 'SELECT pg_notify($1, $2)', values: [channel, awaited.payload], query_timeout: HEARTBEAT_MS };
          pool.query(config).catch(() => undefined);
        };
        client.on('error', onLost);
        client.on('end', () => onLost());
        client.on('notification', (n) => {
          if (n.channel !== channel || !n.payload) return;
          if (!n.payload.startsWith(PROBE)) return onMessage(n.payload);
          if (n.payload !== awaited?.payload) return;
          awaited = undefined;
          // Trusted from the first probe heard: announcements made after it reach this connection.
          if (!hearing) {
            hearing = true;
            onState(true);
          }
        });
        try {
          await client.connect();
          await client.query(`LISTEN ${channel}`);
        } catch (e) {
          onLost(e);
          return;
        }
        if (stopped || lost) return void client.end().catch(() => undefined);
        probe();
        heartbeat = setInterval(probe, HEARTBEAT_MS);
        heartbeat.unref();
      };
      void connect();
      return async () => {
        stopped = true;
        clearTimeout(retry);
        // A connection gone silent never confirms its end: closing does not wait for it past a heartbeat.
        const ended = current?.end().catch(() => undefined);
        await Promise.race([ended, new Promise((r) => setTimeout(r, HEARTBEAT_MS).unref())]);
      };
    },
  };
}
