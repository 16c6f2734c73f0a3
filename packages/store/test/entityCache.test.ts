/** The entity cache on its own, in the store on each driver, and between two processes' stores on one PostgreSQL schema. */
import { createConnection, createServer, Server, Socket } from 'node:net';
import { Client } from 'pg';
import type { StoredEntity } from '@civitas/core';
import type { SqlDriver } from '../src/driver';
import { EntityCache } from '../src/entityCache';
import { migrate } from '../src/migrations';
import { openPgDriver } from '../src/pgDriver';
import { storeOn } from '../src/openStore';
import type { SqlStore } from '../src/sqlStore';
import { dropSchema, freshSchemaName } from '../../../test/support/schemas';
import { driverKinds } from '../../../test/support/driverKinds';

const url = process.env.DATABASE_URL;
const T0 = '2026-11-25T10:00:00.123456Z';

function entity(id: string, value: number, extra: Partial<StoredEntity> = {}): StoredEntity {
  return { id, types: ['https://example.org/Thing'], createdAt: T0, modifiedAt: T0, attrs: { 'https://example.org/n': [{ type: 'Property', value }] }, ...extra };
}

const valueOf = (e: StoredEntity | undefined) => (e?.attrs['https://example.org/n'][0] as { value?: unknown } | undefined)?.value;

/** Whether `check` holds within five seconds. */
async function soon(check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The driver, counting the statements sent on its shared connections (where single-entity reads go). */
function counting(driver: SqlDriver): SqlDriver & { statements: number } {
  const counted = { ...driver, statements: 0 };
  counted.query = (sql, params) => {
    counted.statements += 1;
    return driver.query(sql, params);
  };
  return counted;
}

describe('EntityCache', () => {
  const e = (id: string, extra: Partial<StoredEntity> = {}) => entity(id, 1, extra);
  const keep = (cache: EntityCache, tenant: string, entry: StoredEntity) => cache.finishRead(cache.startRead(tenant, entry.id), entry);

  test('keeps what a read found, per tenant, frozen', () => {
    const cache = new EntityCache(10);
    const a = keep(cache, 't', e('urn:a'))!;
    expect(cache.get('t', 'urn:a')).toBe(a);
    expect(cache.get('other', 'urn:a')).toBeUndefined();
    expect(Object.isFrozen(a) && Object.isFrozen(a.attrs) && Object.isFrozen(a.attrs['https://example.org/n'][0])).toBe(true);
    expect(() => {
      (a.attrs['https://example.org/n'][0] as { value: number }).value = 2;
    }).toThrow(TypeError);
  });

  test('keeps no absence', () => {
    const cache = new EntityCache(10);
    expect(cache.finishRead(cache.startRead('t', 'urn:none'), undefined)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('beyond its capacity forgets first what was not used since it was kept or passed over', () => {
    const cache = new EntityCache(2);
    keep(cache, 't', e('urn:a'));
    keep(cache, 't', e('urn:b'));
    cache.get('t', 'urn:a');
    keep(cache, 't', e('urn:c'));
    expect(cache.get('t', 'urn:b')).toBeUndefined();
    expect(cache.get('t', 'urn:a')).toBeDefined();
    expect(cache.get('t', 'urn:c')).toBeDefined();
  });

  test('when every entry was used, the oldest goes and the others stay, unmarked', () => {
    const cache = new EntityCache(3);
    for (const id of ['urn:a', 'urn:b', 'urn:c']) keep(cache, 't', e(id));
    for (const id of ['urn:a', 'urn:b', 'urn:c']) cache.get('t', id);
    keep(cache, 't', e('urn:d'));
    expect(cache.size).toBe(3);
    expect(cache.get('t', 'urn:a')).toBeUndefined();
    // b and c were passed over, then d came; b, used again, is passed over again, and c goes.
    cache.get('t', 'urn:b');
    keep(cache, 't', e('urn:e'));
    expect(['urn:b', 'urn:c', 'urn:d', 'urn:e'].map((id) => cache.get('t', id) !== undefined)).toEqual([true, false, true, true]);
  });

  test('never answers an entity past its expiresAt', () => {
    const cache = new EntityCache(10);
    keep(cache, 't', e('urn:past', { expiresAt: new Date(Date.now() - 1).toISOString() }));
    keep(cache, 't', e('urn:future', { expiresAt: new Date(Date.now() + 60_000).toISOString() }));
    expect(cache.get('t', 'urn:past')).toBeUndefined();
    expect(cache.get('t', 'urn:future')).toBeDefined();
  });

  test('a dropped entity goes, and a read in flight when it was dropped is not kept', () => {
    const cache = new EntityCache(10);
    keep(cache, 't', e('urn:a'));
    const inFlight = cache.startRead('t', 'urn:b');
    const other = cache.startRead('t', 'urn:c');
    cache.drop('t', ['urn:a', 'urn:b']);
    expect(cache.get('t', 'urn:a')).toBeUndefined();
    // The read may hold the state before the write: answered to its caller, not kept.
    expect(cache.finishRead(inFlight, e('urn:b'))).toBeDefined();
    expect(cache.get('t', 'urn:b')).toBeUndefined();
    cache.finishRead(other, e('urn:c'));
    expect(cache.get('t', 'urn:c')).toBeDefined();
  });

  test('a write keeps what it wrote with its version, drops what it did not write, and reads keep no version', () => {
    const cache = new EntityCache(10);
    keep(cache, 't', e('urn:a'));
    expect(cache.getWritten('t', 'urn:a')).toBeUndefined();
    const inFlight = cache.startRead('t', 'urn:a');
    const writes = ['urn:a', 'urn:b'].map((id) => cache.startRead('t', id));
    const written = e('urn:a', { modifiedAt: '2026-11-25T11:00:00.000000Z' });
    cache.finishWrite(writes, new Map([['urn:a', { entity: written, version: '1048577' }]]));
    expect(cache.getWritten('t', 'urn:a')).toEqual({ entity: written, version: '1048577' });
    expect(cache.get('t', 'urn:a')).toBe(written);
    expect(Object.isFrozen(written.attrs)).toBe(true);
    // urn:b was not written (an insert that met an entity, a failed write): nothing of it is kept.
    expect(cache.get('t', 'urn:b')).toBeUndefined();
    // A read in flight during the write may hold the state before it.
    cache.finishRead(inFlight, e('urn:a'));
    expect(cache.get('t', 'urn:a')).toBe(written);
  });

  test('what a write left is not kept when an announcement dropped the entity while it was under way', () => {
    const cache = new EntityCache(10);
    const writes = ['urn:a', 'urn:b'].map((id) => cache.startRead('t', id));
    cache.drop('t', ['urn:a']);
    cache.finishWrite(writes, new Map(['urn:a', 'urn:b'].map((id) => [id, { entity: e(id), version: '7' }])));
    expect(cache.getWritten('t', 'urn:a')).toBeUndefined();
    expect(cache.getWritten('t', 'urn:b')).toEqual({ entity: e('urn:b'), version: '7' });
    const tenantWrite = cache.startRead('t', 'urn:c');
    cache.dropTenant('t');
    cache.finishWrite([tenantWrite], new Map([['urn:c', { entity: e('urn:c'), version: '7' }]]));
    expect(cache.get('t', 'urn:c')).toBeUndefined();
  });

  test('dropping a tenant drops its entities and its reads in flight, not other tenants', () => {
    const cache = new EntityCache(10);
    keep(cache, 't', e('urn:a'));
    keep(cache, 'u', e('urn:a'));
    const inFlight = cache.startRead('t', 'urn:b');
    cache.dropTenant('t');
    cache.finishRead(inFlight, e('urn:b'));
    expect(cache.get('t', 'urn:a')).toBeUndefined();
    expect(cache.get('t', 'urn:b')).toBeUndefined();
    expect(cache.get('u', 'urn:a')).toBeDefined();
    keep(cache, 't', e('urn:a'));
    expect(cache.get('t', 'urn:a')).toBeDefined();
  });

  test('dropping everything leaves no entity of any tenant and keeps no read in flight', () => {
    const cache = new EntityCache(10);
    keep(cache, 't', e('urn:a'));
    keep(cache, 'u', e('urn:b'));
    const inFlight = cache.startRead('t', 'urn:c');
    cache.dropAll();
    cache.finishRead(inFlight, e('urn:c'));
    expect([cache.get('t', 'urn:a'), cache.get('u', 'urn:b'), cache.get('t', 'urn:c')]).toEqual([undefined, undefined, undefined]);
    keep(cache, 't', e('urn:a'));
    expect(cache.get('t', 'urn:a')).toBeDefined();
  });

  test('distrusted, it answers and keeps nothing; trusted again, it starts empty', () => {
    const cache = new EntityCache(10, false);
    keep(cache, 't', e('urn:a'));
    expect(cache.get('t', 'urn:a')).toBeUndefined();
    cache.trust();
    keep(cache, 't', e('urn:a'));
    const inFlight = cache.startRead('t', 'urn:b');
    cache.distrust();
    expect(cache.get('t', 'urn:a')).toBeUndefined();
    cache.trust();
    cache.finishRead(inFlight, e('urn:b'));
    expect(cache.get('t', 'urn:a')).toBeUndefined();
    expect(cache.get('t', 'urn:b')).toBeUndefined();
  });
});

const kinds = driverKinds('cache');

for (const kind of kinds) {
  describe(`The entity cache in the store [${kind.name}]`, () => {
    let store: SqlStore;
    let uncached: SqlStore;
    let driver: SqlDriver & { statements: number };
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      const opened = await kind.open();
      cleanup = opened.cleanup;
      await migrate(opened.driver);
      driver = counting(opened.driver);
      store = storeOn(driver);
      uncached = storeOn(driver, true, 0);
      // The server store trusts its cache once it listens to other processes' announcements.
      const probe = 'urn:ngsi-ld:Thing:probe';
      await store.mutate('', [], () => ({ inserts: [entity(probe, 0)], result: undefined }));
      await soon(async () => {
        await store.getEntity('', probe);
        const before = driver.statements;
        await store.getEntity('', probe);
        return driver.statements === before;
      });
    });
    afterAll(async () => {
      await store.close();
      await cleanup();
    });

    test('an entity read again is answered without a statement; a write this store makes is seen at once', async () => {
      const id = 'urn:ngsi-ld:Thing:hot';
      await store.mutate('', [], () => ({ inserts: [entity(id, 1)], result: undefined }));
      expect(valueOf(await store.getEntity('', id))).toBe(1);
      const before = driver.statements;
      expect(valueOf(await store.getEntity('', id))).toBe(1);
      expect(driver.statements).toBe(before);
      await store.mutate('', [id], (current) => ({ upserts: [{ ...current.get(id)!, attrs: { 'https://example.org/n': [{ type: 'Property', value: 2 }] } }], result: undefined }));
      expect(valueOf(await store.getEntity('', id))).toBe(2);
      await store.mutate('', [id], () => ({ deletes: [id], result: undefined }));
      expect(await store.getEntity('', id)).toBeUndefined();
    });

    test('the entities it answers are frozen, whether read from the database or from memory', async () => {
      const id = 'urn:ngsi-ld:Thing:frozen';
      await store.mutate('', [], () => ({ inserts: [entity(id, 1)], result: undefined }));
      const first = (await store.getEntity('', id))!;
      const again = (await store.getEntity('', id))!;
      for (const e of [first, again]) expect(() => (e.types as string[]).push('x')).toThrow(TypeError);
    });

    test('without a cache, every retrieval is a read', async () => {
      const id = 'urn:ngsi-ld:Thing:cold';
      await uncached.mutate('', [], () => ({ inserts: [entity(id, 1)], result: undefined }));
      await uncached.getEntity('', id);
      const before = driver.statements;
      await uncached.getEntity('', id);
      expect(driver.statements).toBe(before + 1);
    });

    test('an entity past its expiresAt is not answered from memory', async () => {
      const id = 'urn:ngsi-ld:Thing:transient';
      await store.mutate('', [], () => ({ inserts: [entity(id, 1, { expiresAt: new Date(Date.now() + 300).toISOString() })], result: undefined }));
      expect(await store.getEntity('', id)).toBeDefined();
      await new Promise((r) => setTimeout(r, 400));
      expect(await store.getEntity('', id)).toBeUndefined();
    });
  });
}

/**
 * A TCP relay to PostgreSQL that can fall silent, as a network partition
 * does: while silent it keeps every connection open and delivers nothing,
 * in either direction.
 */
class SilentRelay {
  silent = false;
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server) {}

  static async start(target: URL): Promise<SilentRelay> {
    const server = createServer();
    const relay = new SilentRelay(server);
    server.on('connection', (client) => {
      const upstream = createConnection(Number(target.port || 5432), target.hostname);
      for (const [from, to] of [[client, upstream], [upstream, client]]) {
        relay.sockets.add(from);
        from.on('data', (chunk) => relay.silent || to.write(chunk));
        from.on('close', () => to.destroy());
        from.on('error', () => to.destroy());
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return relay;
  }

  url(target: URL): string {
    const u = new URL(target);
    u.host = `127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return u.toString();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

if (url) {
  describe('The entity caches of two processes on one PostgreSQL schema', () => {
    const schema = freshSchemaName('cache2');
    let a: SqlStore;
    let b: SqlStore;
    let driverA: SqlDriver & { statements: number };

    /** Whether A answers the entity from its cache (no statement) with the given value. */
    const cachedInA = async (id: string, value: number) => {
      await a.getEntity('', id);
      const before = driverA.statements;
      const e = await a.getEntity('', id);
      return driverA.statements === before && valueOf(e) === value;
    };
    /** Whether A reads the entity from the database (it is not in A's cache). */
    const readByA = async (id: string) => {
      const before = driverA.statements;
      await a.getEntity('', id);
      return driverA.statements > before;
    };
    /** Runs a statement on a connection of its own; the rows it returned. */
    const asAdmin = async (sql: string, params: unknown[]) => {
      const admin = new Client({ connectionString: url });
      await admin.connect();
      try {
        return (await admin.query(sql, params)).rowCount;
      } finally {
        await admin.end();
      }
    };
    const setInB = (id: string, value: number) =>
      b.mutate('', [id], (current) => ({ upserts: [{ ...current.get(id)!, attrs: { 'https://example.org/n': [{ type: 'Property', value }] } }], result: undefined }));

    beforeAll(async () => {
      const driver = await openPgDriver(url!, schema);
      await migrate(driver);
      driverA = counting(driver);
      a = storeOn(driverA);
      b = storeOn(await openPgDriver(url!, schema));
    });
    afterAll(async () => {
      await a.close();
      await b.close();
      await dropSchema(url!, schema);
    });

    test('processes that name one schema differently (unset, and public) announce on one channel', async () => {
      const [unset, named] = await Promise.all([openPgDriver(url!), openPgDriver(url!, 'public')]);
      try {
        expect(unset.announcements!.channel).toBe(named.announcements!.channel);
        expect(unset.announcements!.channel).not.toBe(driverA.announcements!.channel);
      } finally {
        await Promise.all([unset.close(), named.close()]);
      }
    });

    test("a write in one drops the entity from the other's cache", async () => {
      const id = 'urn:ngsi-ld:Thing:shared';
      await b.mutate('', [], () => ({ inserts: [entity(id, 1)], result: undefined }));
      expect(await soon(() => cachedInA(id, 1))).toBe(true);
      await setInB(id, 2);
      expect(await soon(async () => valueOf(await a.getEntity('', id)) === 2)).toBe(true);
      await b.mutate('', [id], () => ({ deletes: [id], result: undefined }));
      expect(await soon(async () => (await a.getEntity('', id)) === undefined)).toBe(true);
    });

    test('a write of too many ids for one announcement drops the whole tenant', async () => {
      const id = 'urn:ngsi-ld:Thing:bystander';
      await b.mutate('', [], () => ({ inserts: [entity(id, 1)], result: undefined }));
      expect(await soon(() => cachedInA(id, 1))).toBe(true);
      const many = Array.from({ length: 200 }, (_, n) => entity(`urn:ngsi-ld:Thing:${'x'.repeat(40)}:${n}`, n));
      await b.mutate('', [], () => ({ inserts: many, result: undefined }));
      // The bystander was not written, but its tenant was dropped: A reads it from the database again.
      expect(await soon(() => readByA(id))).toBe(true);
    });

    test('an announcement it cannot read empties its cache', async () => {
      const id = 'urn:ngsi-ld:Thing:garbled';
      await b.mutate('', [], () => ({ inserts: [entity(id, 1)], result: undefined }));
      expect(await soon(() => cachedInA(id, 1))).toBe(true);
      await asAdmin('SELECT pg_notify($1, $2)', [driverA.announcements!.channel, 'not an announcement']);
      expect(await soon(() => readByA(id))).toBe(true);
    });

    test('while its listening connection is lost, a store answers nothing from memory; listening again, it caches again', async () => {
      const id = 'urn:ngsi-ld:Thing:outage';
      await b.mutate('', [], () => ({ inserts: [entity(id, 1)], result: undefined }));
      expect(await soon(() => cachedInA(id, 1))).toBe(true);
      const killed = await asAdmin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1', [`LISTEN ${driverA.announcements!.channel}`]);
      expect(killed).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 300));
      // Any announcement of this write may be missed: A must read the database.
      await setInB(id, 2);
      expect(valueOf(await a.getEntity('', id))).toBe(2);
      // Reconnected (a second later), A caches again, and hears B's writes again.
      expect(await soon(() => cachedInA(id, 2))).toBe(true);
      await setInB(id, 3);
      expect(await soon(async () => valueOf(await a.getEntity('', id)) === 3)).toBe(true);
    });

    test('a store whose listening connection falls silent stops answering from memory', async () => {
      const relay = await SilentRelay.start(new URL(url!));
      const driverC = counting(await openPgDriver(relay.url(new URL(url!)), schema));
      const c = storeOn(driverC);
      try {
        const id = 'urn:ngsi-ld:Thing:partitioned';
        await b.mutate('', [], () => ({ inserts: [entity(id, 1)], result: undefined }));
        const cachedInC = async () => {
          await c.getEntity('', id);
          const before = driverC.statements;
          await c.getEntity('', id);
          return driverC.statements === before;
        };
        expect(await soon(cachedInC)).toBe(true);
        // The announcement of this write is lost with everything else C would receive.
        relay.silent = true;
        await setInB(id, 2);
        // The listening connection does not hear its probes (two seconds apart) and is given up.
        await new Promise((r) => setTimeout(r, 7_500));
        relay.silent = false;
        expect(valueOf(await c.getEntity('', id))).toBe(2);
      } finally {
        await c.close();
        await relay.close();
      }
    }, 20_000);
  });
}
