/** The SQL store on each driver: embedded PGlite always, PostgreSQL when DATABASE_URL is set. */
import { randomBytes } from 'node:crypto';
import { NgsiError, nowIso, parseQ, StoredEntity, Subscription } from '@civitas/core';
import type { SqlDriver, SqlExecutor, Statement, TransactionOptions } from '../src/driver';
import { migrate } from '../src/migrations';
import { openPgDriver } from '../src/pgDriver';
import type { SqlStore } from '../src/sqlStore';
import { storeOn } from '../src/openStore';
import { WRITE_STATEMENT } from '../src/writeStatement';
import { dropSchema, freshSchemaName } from '../../../test/support/schemas';
import { driverKinds } from '../../../test/support/driverKinds';

const url = process.env.DATABASE_URL;
const kinds = driverKinds('store');

type Counted = SqlDriver & { statements: number; asyncCommits: number; analyzes: number; outboxParams: string[]; lastWriteParams?: unknown[]; named: Record<string, number> };

/**
 * Counts the statements a store sends, to prove batches are not written entity by entity, its transactions and
 * statements that commit asynchronously and its refreshes of planner statistics; keeps the outbox parameter of each write statement
 * and the parameters of the last.
 */
function counting(driver: SqlDriver): Counted {
  const counts = (target: SqlExecutor): SqlExecutor['query'] => (sql: string | Statement, params?: unknown[]) => {
    counted.statements += 1;
    if (typeof sql !== 'string') counted.named[sql.name] = (counted.named[sql.name] ?? 0) + 1;
    if (typeof sql === 'string' && sql.startsWith('ANALYZE')) counted.analyzes += 1;
    if (typeof sql !== 'string' && sql.name === WRITE_STATEMENT.name) {
      counted.outboxParams.push(params![4] as string);
      counted.lastWriteParams = params;
    }
    return target.query(sql, params);
  };
  const counted = {
    statements: 0,
    asyncCommits: 0,
    analyzes: 0,
    outboxParams: [] as string[],
    lastWriteParams: undefined as unknown[] | undefined,
    named: {} as Record<string, number>,
    kind: driver.kind,
    writeLanes: driver.writeLanes,
    largeWriteLanes: driver.largeWriteLanes,
    planAhead: driver.planAhead,
    readLanes: driver.readLanes,
    query: counts(driver),
    writer: { query: counts(driver.writer) },
    bookkeeper: {
      query: (sql: string | Statement, params?: unknown[]) => {
        counted.asyncCommits += 1;
        return counts(driver.bookkeeper)(sql, params);
      },
    },
    transaction: <T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions) => {
      if (options?.asyncCommit) counted.asyncCommits += 1;
      return driver.transaction((tx) => fn({ query: counts(tx) }), options);
    },
    close: () => driver.close(),
  };
  return counted as Counted;
}

const T0 = '2026-11-25T10:00:00.123456Z';

/** A subscription to every Thing, notifying an endpoint nobody answers (no notifier runs in these tests). */
const thingSubscription = (id: string, notificationTrigger: Subscription['notificationTrigger']): Subscription => ({
  id,
  entities: [{ type: 'Thing', types: [['https://example.org/Thing']] }],
  notificationTrigger,
  notification: { endpoint: { uri: 'http://127.0.0.1:9/n', accept: 'application/json' } },
  createdAt: T0,
  modifiedAt: T0,
});

function entity(id: string, extra: Partial<StoredEntity> = {}): StoredEntity {
  return {
    id,
    types: ['https://example.org/Thing'],
    createdAt: T0,
    modifiedAt: T0,
    attrs: {
      'https://example.org/speed': [
        { type: 'Property', value: 1, createdAt: T0, modifiedAt: T0 },
        { type: 'Property', value: 2, datasetId: 'urn:ngsi-ld:Dataset:b', observedAt: '2026-01-01T00:00:00Z' },
      ],
      'https://example.org/owner': [{ type: 'Relationship', object: 'urn:ngsi-ld:Person:1', sub: { 'https://example.org/since': { type: 'Property', value: { y: 2020 } } } }],
      'https://uri.etsi.org/ngsi-ld/location': [{ type: 'GeoProperty', value: { type: 'Point', coordinates: [2.1, 41.4] } }],
      'https://example.org/name': [{ type: 'LanguageProperty', languageMap: { en: 'x', es: ['y', 'z'] } }],
      'https://example.org/raw': [{ type: 'JsonProperty', json: { a: [null, true] } }],
      'https://example.org/list': [{ type: 'ListProperty', valueList: [1, 'a'] }],
      'https://example.org/refs': [{ type: 'ListRelationship', objectList: ['urn:a:1', 'urn:a:2'] }],
      'https://example.org/cat': [{ type: 'VocabProperty', vocab: 'https://example.org/urban' }],
    },
    ...extra,
  };
}

for (const kind of kinds) {
  describe(`SqlStore [${kind.name}]`, () => {
    let store: SqlStore;
    let driver: Counted;
    let cleanup: () => Promise<void>;
    let schema: string | undefined;

    beforeAll(async () => {
      const opened = await kind.open();
      cleanup = opened.cleanup;
      schema = opened.schema;
      await migrate(opened.driver);
      driver = counting(opened.driver);
      store = storeOn(driver);
    });
    afterAll(async () => {
      await store.close();
      await cleanup();
    });

    test('an entity round-trips exactly, timestamps included', async () => {
      const e = entity('urn:ngsi-ld:Thing:rt', { scope: ['/a/b'] });
      await store.mutate('', [], () => ({ inserts: [e], result: undefined }));
      // Read by a store that keeps nothing: this one may answer with what it wrote.
      expect(await storeOn(driver, true, 0).getEntity('', e.id)).toEqual(e);
    });

    test('inserts report the ids that already existed and leave them untouched', async () => {
      const a = entity('urn:ngsi-ld:Thing:c1');
      await store.mutate('', [], () => ({ inserts: [a], result: undefined }));
      const changed = { ...a, types: ['https://example.org/Other'] };
      const outcome = await store.mutate('', [], () => ({ inserts: [changed, entity('urn:ngsi-ld:Thing:c2')], result: 'r' }));
      expect(outcome).toEqual({ result: 'r', conflicts: [a.id] });
      expect((await store.getEntity('', a.id))!.types).toEqual(a.types);
      expect(await store.getEntity('', 'urn:ngsi-ld:Thing:c2')).toBeDefined();
    });

    test('the plan sees the current state; upserts and deletes apply', async () => {
      const a = entity('urn:ngsi-ld:Thing:u1');
      const b = entity('urn:ngsi-ld:Thing:u2');
      await store.mutate('', [], () => ({ inserts: [a, b], result: undefined }));
      await store.mutate('', [a.id, b.id, 'urn:ngsi-ld:Thing:none'], (current) => {
        expect([...current.keys()].sort()).toEqual([a.id, b.id]);
        return { upserts: [{ ...current.get(a.id)!, modifiedAt: '2026-11-25T11:00:00.000001Z' }], deletes: [b.id], result: undefined };
      });
      expect((await store.getEntity('', a.id))!.modifiedAt).toBe('2026-11-25T11:00:00.000001Z');
      expect(await store.getEntity('', b.id)).toBeUndefined();
    });

    test('a plan that throws writes nothing', async () => {
      await expect(
        store.mutate('', [], () => {
          throw new NgsiError('BadRequestData', 'no');
        }),
      ).rejects.toMatchObject({ type: 'BadRequestData' });
      const id = 'urn:ngsi-ld:Thing:never';
      await expect(store.mutate('', [], () => ({ inserts: [{ ...entity(id), createdAt: 'not a date' }], result: undefined }))).rejects.toBeInstanceOf(NgsiError);
      expect(await store.getEntity('', id)).toBeUndefined();
    });

    test('tenants: unknown ones fail unless created, and they are isolated', async () => {
      const tenant = `t${randomBytes(3).toString('hex')}`;
      expect(await store.tenantExists(tenant)).toBe(false);
      await expect(store.mutate(tenant, [], () => ({ result: undefined }))).rejects.toMatchObject({ type: 'NonexistentTenant' });
      const e = entity('urn:ngsi-ld:Thing:tenanted');
      await store.mutate(tenant, [], () => ({ inserts: [e], result: undefined }), { createTenant: true });
      expect(await store.tenantExists(tenant)).toBe(true);
      expect(await store.getEntity(tenant, e.id)).toEqual(e);
      expect(await store.getEntity('', e.id)).toBeUndefined();
    });

    test('concurrent read-modify-writes lose no update, and share transactions under load', async () => {
      const ids = Array.from({ length: 20 }, (_, i) => `urn:ngsi-ld:Counter:${i}`);
      const counter = (id: string, n: number): StoredEntity => ({ ...entity(id), attrs: { 'https://example.org/n': [{ type: 'Property', value: n }] } });
      await store.mutate('', [], () => ({ inserts: ids.map((id) => counter(id, 0)), result: undefined }));
      const before = driver.statements;
      const increments = 60;
      await Promise.all(
        Array.from({ length: increments }, (_, k) =>
          store.mutate('', [ids[k % ids.length]], (current) => {
            const e = current.get(ids[k % ids.length])!;
            return { upserts: [counter(e.id, (e.attrs['https://example.org/n'][0] as { value: number }).value + 1)], result: undefined };
          }),
        ),
      );
      // Written one by one, each increment would be a locked read and a write.
      expect(driver.statements - before).toBeLessThan(increments);
      for (const id of ids) expect((await store.getEntity('', id))!.attrs['https://example.org/n'][0]).toMatchObject({ value: increments / ids.length });
    });

    test('two stores on one database (two broker processes) lose no update of an entity both write', async () => {
      // A second process has connections of its own; the embedded store's one connection is shared (and not closed here).
      const otherDriver = url && schema ? await openPgDriver(url, schema) : driver;
      const other = storeOn(otherDriver);
      try {
        const id = 'urn:ngsi-ld:Thing:contended';
        const count = 'https://example.org/count';
        await store.mutate('', [], () => ({ inserts: [{ ...entity(id), attrs: { [count]: [{ type: 'Property', value: 0 }] } }], result: undefined }));
        const increment = (s: SqlStore) =>
          s.mutate('', [id], (current) => {
            const e = current.get(id)!;
            const next = (e.attrs[count][0].value as number) + 1;
            return { upserts: [{ ...e, modifiedAt: new Date().toISOString(), attrs: { [count]: [{ type: 'Property', value: next }] } }], result: next };
          });
        const results = await Promise.all(Array.from({ length: 40 }, (_, i) => increment(i % 2 === 0 ? store : other)));
        // In the database: either process may still answer from what it kept until the other's announcement arrives.
        const [row] = await driver.query<{ n: string }>(`SELECT attrs -> $2 -> 0 ->> 'value' AS n FROM entities WHERE tenant = '' AND id = $1`, [id, count]);
        expect(Number(row.n)).toBe(40);
        // Each increment saw the one before it: every value from 1 to 40 was written exactly once.
        expect(results.map((r) => r.result).sort((a, b) => (a as number) - (b as number))).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      } finally {
        if (otherDriver !== driver) await other.close();
      }
    });

    test('a lane plans its next group while the statement of the last runs, and its statements never overlap', async () => {
      // The write statement takes a while here, so that what runs beside it shows.
      const events: string[] = [];
      const timed: SqlDriver = {
        ...driver,
        writer: {
          query: async (sql, params) => {
            const name = typeof sql === 'string' ? sql : sql.name;
            if (name !== WRITE_STATEMENT.name) return driver.writer.query(sql, params);
            events.push('write starts');
            await new Promise((r) => setTimeout(r, 150));
            try {
              return await driver.writer.query(sql, params);
            } finally {
              events.push('write ends');
            }
          },
        },
      };
      const lane = storeOn(timed);
      const plans: string[] = [];
      const write = (id: string) =>
        lane.mutate('', [id], () => {
          plans.push(id);
          events.push(`${id} planned`);
          return { upserts: [entity(id)], result: undefined };
        });
      await Promise.all([write('urn:ngsi-ld:Ahead:1'), write('urn:ngsi-ld:Ahead:2')]);
      expect(plans.sort()).toEqual(['urn:ngsi-ld:Ahead:1', 'urn:ngsi-ld:Ahead:2']);
      // One statement at a time, whatever the driver.
      expect(events.filter((e) => e.startsWith('write'))).toEqual(['write starts', 'write ends', 'write starts', 'write ends']);
      // Planned ahead: both groups were planned before the first statement ended; otherwise the second after it.
      const lastPlanned = Math.max(...plans.map((id) => events.indexOf(`${id} planned`)));
      expect(lastPlanned < events.indexOf('write ends')).toBe(driver.planAhead);
      expect(driver.planAhead).toBe(kind.name === 'postgres');
      for (const id of plans) expect(await store.getEntity('', id)).toBeDefined();
    });

    test('small groups never overlap; on PostgreSQL a large group writes beside the statement of a small one', async () => {
      const running = { now: 0, most: 0 };
      const sizes: number[] = [];
      const timed: SqlDriver = {
        ...driver,
        writer: {
          query: async (sql, params) => {
            if ((typeof sql === 'string' ? sql : sql.name) !== WRITE_STATEMENT.name) return driver.writer.query(sql, params);
            running.most = Math.max(running.most, ++running.now);
            sizes.push(JSON.parse(params![2] as string).length);
            await new Promise((r) => setTimeout(r, 150));
            try {
              return await driver.writer.query(sql, params);
            } finally {
              running.now--;
            }
          },
        },
      };
      const lane = storeOn(timed);
      const upsert = (ids: string[]) => lane.mutate('', ids, () => ({ upserts: ids.map((id) => entity(id)), result: undefined }));
      const small = (n: number) => upsert([`urn:ngsi-ld:Lanes:small${n}`]);
      // The first small write holds the regular lane's statement; the next two wait for it, side by side with nothing.
      await Promise.all([small(1), small(2), small(3)]);
      expect(running.most).toBe(1);
      const large = Array.from({ length: 150 }, (_, n) => `urn:ngsi-ld:Lanes:large${n}`);
      await Promise.all([small(4), small(5), upsert(large)]);
      expect(running.most).toBe(driver.largeWriteLanes > 0 ? 2 : 1);
      expect(driver.largeWriteLanes).toBe(kind.name === 'postgres' ? 1 : 0);
      expect(Math.max(...sizes)).toBeGreaterThanOrEqual(150);
      for (const id of large) expect(await store.getEntity('', id)).toBeDefined();
    });

    test('in a shared transaction, a mutation that fails fails alone', async () => {
      const good = ['urn:ngsi-ld:Group:g1', 'urn:ngsi-ld:Group:g2'];
      const broken = 'urn:ngsi-ld:Group:broken';
      const outcomes = await Promise.allSettled([
        ...good.map((id) => store.mutate('', [id], () => ({ upserts: [entity(id)], result: id }))),
        store.mutate('', ['urn:ngsi-ld:Group:refused'], () => {
          throw new NgsiError('BadRequestData', 'refused');
        }),
        // Fails in the database, so the whole shared statement does: every member is written again alone.
        store.mutate('', [broken], () => ({ upserts: [{ ...entity(broken), createdAt: 'not a date' }], result: broken })),
      ]);
      expect(outcomes.slice(0, 2)).toEqual(good.map((id) => ({ status: 'fulfilled', value: { result: id, conflicts: [] } })));
      expect(outcomes[2]).toMatchObject({ status: 'rejected', reason: { type: 'BadRequestData' } });
      expect(outcomes[3]).toMatchObject({ status: 'rejected', reason: { type: 'InternalError' } });
      for (const id of good) expect(await store.getEntity('', id)).toBeDefined();
      expect(await store.getEntity('', broken)).toBeUndefined();
    });

    test('concurrent reads of single entities share statements and each gets its own entity', async () => {
      const ids = Array.from({ length: 40 }, (_, i) => `urn:ngsi-ld:Read:${i}`);
      await store.mutate('', [], () => ({ inserts: ids.map((id) => entity(id)), result: undefined }));
      const before = driver.statements;
      const read = await Promise.all([...ids, 'urn:ngsi-ld:Read:none'].map((id) => store.getEntity('', id)));
      expect(read.map((e) => e?.id)).toEqual([...ids, undefined]);
      // One by one, that is 41 statements; the lanes take the first reads, the others wait and go together.
      expect(driver.statements - before).toBeLessThanOrEqual(driver.readLanes + 1);
    });

    test('an update rewrites the value and geometry rows of the attributes it changed, and only those', async () => {
      const id = 'urn:ngsi-ld:Thing:partial';
      const speed = 'https://example.org/speed';
      const cat = 'https://example.org/cat';
      const location = 'https://uri.etsi.org/ngsi-ld/location';
      const sideRows = async () => ({
        values: await driver.query<{ attr: string; num: number | null; txt: string | null; at: string }>(
          'SELECT attr, num, txt, ctid::text AS at FROM entity_values WHERE tenant = $1 AND entity_id = $2 ORDER BY attr, num, txt',
          ['', id],
        ),
        geo: await driver.query<{ at: string; coords: string }>('SELECT ctid::text AS at, ST_AsText(geom) AS coords FROM entity_geo WHERE tenant = $1 AND entity_id = $2', ['', id]),
      });
      const first = entity(id);
      await store.mutate('', [], () => ({ inserts: [first], result: undefined }));
      const before = await sideRows();
      expect(before.values.filter((r) => r.attr === cat).map((r) => r.txt)).toEqual(['https://example.org/urban']);

      // speed changes, cat goes, the location stays.
      const { [cat]: _gone, ...kept } = first.attrs;
      const updated = { ...first, attrs: { ...kept, [speed]: [{ type: 'Property' as const, value: 5 }] } };
      await store.mutate('', [id], () => ({ upserts: [updated], result: undefined }));
      const after = await sideRows();
      expect(after.values.filter((r) => r.attr === speed).map((r) => r.num)).toEqual([5]);
      expect(after.values.filter((r) => r.attr === cat)).toEqual([]);
      const untouched = (rows: Array<{ attr: string; at: string }>) => rows.filter((r) => r.attr !== speed && r.attr !== cat);
      expect(untouched(after.values)).toEqual(untouched(before.values));
      expect(after.geo).toEqual(before.geo);

      // A moved location is rewritten.
      const moved = { ...updated, attrs: { ...updated.attrs, [location]: [{ type: 'GeoProperty' as const, value: { type: 'Point', coordinates: [3, 40] } }] } };
      await store.mutate('', [id], () => ({ upserts: [moved], result: undefined }));
      expect((await sideRows()).geo.map((g) => g.coords)).toEqual(['POINT(3 40)']);
    });

    test('a deleted entity takes its value, geometry and attribute-name rows with it, and only its own', async () => {
      const ids = ['urn:ngsi-ld:Thing:doomed', 'urn:ngsi-ld:Thing:survivor'];
      await store.mutate('', [], () => ({ inserts: ids.map((id) => entity(id)), result: undefined }));
      const counts = async (id: string) => {
        const count = async (table: string) =>
          Number((await driver.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE tenant = $1 AND entity_id = $2`, ['', id]))[0].n);
        return { values: await count('entity_values'), geo: await count('entity_geo'), names: await count('entity_attrs') };
      };
      const written = await counts(ids[0]);
      expect(written.values).toBeGreaterThan(0);
      expect(written.geo).toBe(1);
      expect(written.names).toBe(Object.keys(entity(ids[0]).attrs).length);
      await store.mutate('', [ids[0]], () => ({ deletes: [ids[0]], result: undefined }));
      expect(await counts(ids[0])).toEqual({ values: 0, geo: 0, names: 0 });
      expect(await counts(ids[1])).toEqual(written);
    });

    test('two concurrent creates of one entity: one is written, the other meets it', async () => {
      const id = 'urn:ngsi-ld:Group:twice';
      const create = (n: number) => store.mutate('', [], () => ({ inserts: [{ ...entity(id), types: [`https://example.org/T${n}`] }], result: n }));
      const outcomes = await Promise.all([create(1), create(2), create(3)]);
      expect(outcomes.map((o) => o.conflicts.length).sort()).toEqual([0, 1, 1]);
      const winner = outcomes.find((o) => o.conflicts.length === 0)!.result;
      expect((await store.getEntity('', id))!.types).toEqual([`https://example.org/T${winner}`]);
    });

    test('a batch of 1000 entities takes a constant number of statements', async () => {
      const many = Array.from({ length: 1000 }, (_, i) => entity(`urn:ngsi-ld:Bulk:${String(i).padStart(4, '0')}`));
      const before = driver.statements;
      await store.mutate('', many.map((e) => e.id), () => ({ upserts: many, result: undefined }));
      // SELECT ... FOR UPDATE, one INSERT ... ON CONFLICT, the geometry and value index refresh (two DELETEs, two INSERTs), and the outbox.
      expect(driver.statements - before).toBeLessThanOrEqual(7);
      const again = driver.statements;
      await store.mutate('', many.map((e) => e.id), (current) => ({ upserts: [...current.values()].map((e) => ({ ...e, modifiedAt: T0 })), deletes: [], result: undefined }));
      expect(driver.statements - again).toBeLessThanOrEqual(7);
    });

    test('queries on attribute existence follow the attributes that come and go', async () => {
      const A = 'https://example.org/a';
      const B = 'https://example.org/b';
      const C = 'https://example.org/c';
      const id = 'urn:ngsi-ld:Names:1';
      const having = async (attr: string) => (await store.queryEntities('names', { attrs: [attr], limit: 10, offset: 0 })).entities.map((e) => e.id);
      const existing = async (attr: string) =>
        (await store.queryEntities('names', { q: { expression: parseQ(attr.slice(attr.lastIndexOf('/') + 1)), expand: () => attr }, limit: 10, offset: 0 })).entities.map((e) => e.id);
      const names = async () => (await driver.query<{ attr: string }>(`SELECT attr FROM entity_attrs WHERE tenant = 'names' ORDER BY attr`)).map((r) => r.attr);
      const prop = (value: number) => [{ type: 'Property' as const, value }];
      await store.mutate('names', [], () => ({ inserts: [{ ...entity(id), attrs: { [A]: prop(1), [B]: prop(2) } }], result: undefined }), { createTenant: true });
      expect([await having(B), await existing(B), await names()]).toEqual([[id], [id], [A, B]]);
      // A value change leaves the names as they are; B going and C coming change them.
      await store.mutate('names', [id], (current) => ({ upserts: [{ ...current.get(id)!, attrs: { [A]: prop(3), [B]: prop(4) } }], result: undefined }));
      expect(await names()).toEqual([A, B]);
      await store.mutate('names', [id], (current) => ({ upserts: [{ ...current.get(id)!, attrs: { [A]: prop(5), [C]: prop(6) } }], result: undefined }));
      expect([await having(B), await existing(B), await having(C), await existing(C), await names()]).toEqual([[], [], [id], [id], [A, C]]);
      // An insert that meets the live entity changes nothing; a delete takes the names along.
      await store.mutate('names', [], () => ({ inserts: [{ ...entity(id), attrs: { [B]: prop(7) } }], result: undefined }));
      expect(await names()).toEqual([A, C]);
      await store.mutate('names', [id], () => ({ deletes: [id], result: undefined }));
      expect([await having(A), await names()]).toEqual([[], []]);
    });

    test('a young store refreshes its planner statistics as it grows', async () => {
      // Never analyzed: PostgreSQL knows nothing of the table's rows yet.
      const rows = async () => Number((await driver.query<{ n: number }>(`SELECT reltuples AS n FROM pg_class WHERE oid = 'entity_values'::regclass`))[0].n);
      const tenant = 'growing';
      const size = driver.kind === 'embedded' ? 5_000 : 1_000;
      const many = Array.from({ length: size }, (_, i) => ({ ...entity(`urn:ngsi-ld:Growing:${i}`), attrs: { 'https://example.org/speed': [{ type: 'Property' as const, value: i }] } }));
      await store.mutate(tenant, [], () => ({ inserts: many, result: undefined }), { createTenant: true });
      let seen = await rows();
      for (let waited = 0; seen < size && waited < 10_000; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
        seen = await rows();
      }
      expect(seen).toBeGreaterThanOrEqual(size);
      // Rewriting the same entities, more often than they were created, changes no size a plan depends on: no ANALYZE (which makes every statement plan again).
      const analyzes = driver.analyzes;
      for (let round = 1; round <= 3; round++) {
        await store.mutate(
          tenant,
          many.map((e) => e.id),
          (current) => ({ upserts: [...current.values()].map((e) => ({ ...e, attrs: { 'https://example.org/speed': [{ type: 'Property', value: -round }] } })), result: undefined }),
        );
      }
      expect(driver.analyzes).toBe(analyzes);
    });

    test('queries: ids, idPattern, types, attrs, ordering, pagination and counts', async () => {
      const ids = ['urn:ngsi-ld:Q:3', 'urn:ngsi-ld:Q:1', 'urn:ngsi-ld:Q:2'];
      await store.mutate('', [], () => ({
        inserts: ids.map((id, i): StoredEntity => ({
          ...entity(id),
          types: [i === 0 ? 'https://example.org/Q3' : 'https://example.org/Q'],
          attrs: i === 2 ? { 'https://example.org/only2': [{ type: 'Property', value: 2 }] } : {},
        })),
        result: undefined,
      }));
      const byType = await store.queryEntities('', { types: [['https://example.org/Q'], ['https://example.org/Q3']], limit: 10, offset: 0, count: true });
      expect(byType.entities.map((e) => e.id)).toEqual(['urn:ngsi-ld:Q:1', 'urn:ngsi-ld:Q:2', 'urn:ngsi-ld:Q:3']);
      expect(byType.count).toBe(3);
      const paged = await store.queryEntities('', { types: [['https://example.org/Q'], ['https://example.org/Q3']], limit: 1, offset: 1 });
      expect(paged.entities.map((e) => e.id)).toEqual(['urn:ngsi-ld:Q:2']);
      expect(paged.count).toBeUndefined();
      const onlyCount = await store.queryEntities('', { idPattern: '^urn:ngsi-ld:Q:', limit: 0, offset: 0, count: true });
      expect(onlyCount).toEqual({ entities: [], count: 3 });
      const byAttr = await store.queryEntities('', { attrs: ['https://example.org/only2'], limit: 10, offset: 0 });
      expect(byAttr.entities.map((e) => e.id)).toEqual(['urn:ngsi-ld:Q:2']);
      const byId = await store.queryEntities('', { ids: ['urn:ngsi-ld:Q:3', 'urn:ngsi-ld:Q:9'], limit: 10, offset: 0 });
      expect(byId.entities.map((e) => e.id)).toEqual(['urn:ngsi-ld:Q:3']);
    });

    test('an invalid idPattern is BadRequestData, not an internal error', async () => {
      await expect(store.queryEntities('', { idPattern: '(unclosed', limit: 1, offset: 0 })).rejects.toMatchObject({ type: 'BadRequestData' });
    });

    describe('writes planned from what the store kept', () => {
      const n = 'https://example.org/n';
      const counter = (id: string, value: number, extra: Partial<StoredEntity> = {}): StoredEntity => ({
        ...entity(id),
        modifiedAt: nowIso(),
        attrs: { [n]: [{ type: 'Property', value }] },
        ...extra,
      });
      const valueIn = (e: StoredEntity) => e.attrs[n][0].value as number;
      const increment = (s: SqlStore, tenant: string, id: string) =>
        s.mutate(tenant, [id], (current) => ({ upserts: [counter(id, valueIn(current.get(id)!) + 1)], result: valueIn(current.get(id)!) }));
      const stored = async (tenant: string, id: string) => valueIn((await storeOn(driver, true, 0).getEntity(tenant, id))!);
      const reads = () => driver.named.civitas_read_for_write ?? 0;
      /** Another process's store on the same database; the embedded store's one connection is shared, without announcements. */
      const otherStore = async () => {
        const otherDriver = url && schema ? await openPgDriver(url, schema) : driver;
        const other = storeOn(otherDriver);
        return { other, close: () => (otherDriver !== driver ? other.close() : Promise.resolve()) };
      };

      test('an entity the store wrote last is written again without a read, from the state it wrote', async () => {
        const id = 'urn:ngsi-ld:Thing:kept';
        await store.mutate('', [], () => ({ inserts: [counter(id, 0)], result: undefined }));
        // A PostgreSQL store keeps nothing until it hears its own announcements, moments after it opens.
        const deadline = Date.now() + 5_000;
        for (let before = reads(); ; before = reads()) {
          await increment(store, '', id);
          if (reads() === before || Date.now() > deadline) break;
        }
        const before = reads();
        const seen = [];
        for (let k = 0; k < 3; k++) seen.push((await increment(store, '', id)).result);
        expect(reads()).toBe(before);
        // Each planned from the one before, and the database holds the last.
        expect(seen).toEqual([seen[0], (seen[0] as number) + 1, (seen[0] as number) + 2]);
        expect(await stored('', id)).toBe((seen[0] as number) + 3);
        expect(await store.getEntity('', id)).toEqual(await storeOn(driver, true, 0).getEntity('', id));
      });

      test('an entity deleted and created again by another store meanwhile is written from what that one left', async () => {
        const { other, close } = await otherStore();
        try {
          const id = 'urn:ngsi-ld:Thing:reborn';
          await store.mutate('', [], () => ({ inserts: [counter(id, 1)], result: undefined }));
          await other.mutate('', [id], () => ({ deletes: [id], result: undefined }));
          await other.mutate('', [], () => ({ inserts: [counter(id, 100)], result: undefined }));
          // The first version of the new life is not the first of the old one: what the store kept fails, and it reads.
          expect((await increment(store, '', id)).result).toBe(100);
          expect(await stored('', id)).toBe(101);
        } finally {
          await close();
        }
      });

      test('a subscription another store created meanwhile gets the change in the outbox', async () => {
        const { other, close } = await otherStore();
        const tenant = 'kept-subscribed';
        const outbox = async () => Number((await driver.query<{ n: string }>(`SELECT count(*) AS n FROM outbox WHERE tenant = $1`, [tenant]))[0].n);
        try {
          const id = 'urn:ngsi-ld:Thing:ks';
          await store.mutate(tenant, [], () => ({ inserts: [counter(id, 1)], result: undefined }), { createTenant: true });
          await increment(store, tenant, id);
          expect(await outbox()).toBe(0);
          await other.notifications.createSubscription(tenant, thingSubscription('urn:ngsi-ld:Subscription:ks', ['entityUpdated']));
          await increment(store, tenant, id);
          expect(await outbox()).toBe(1);
        } finally {
          // Left for no notifier: a later test claims the outbox.
          await driver.query('DELETE FROM outbox WHERE tenant = $1', [tenant]);
          await close();
        }
      });

      test('an expiry that would read back in another form is not kept', async () => {
        const id = 'urn:ngsi-ld:Thing:expiry';
        await store.mutate('', [], () => ({ inserts: [counter(id, 1, { expiresAt: '2099-01-01T00:00:00.500Z' })], result: undefined }));
        const before = reads();
        await store.mutate('', [id], (current) => ({ upserts: [{ ...current.get(id)!, modifiedAt: nowIso() }], result: undefined }));
        expect(reads()).toBe(before + 1);
        expect((await store.getEntity('', id))!.expiresAt).toBe('2099-01-01T00:00:00.5Z');
      });
    });

    test('an asyncCommit transaction, and it alone, commits without waiting for the disk', async () => {
      const setting = async (db: SqlExecutor) => (await db.query<{ synchronous_commit: string }>('SHOW synchronous_commit'))[0].synchronous_commit;
      expect(await driver.transaction(setting, { asyncCommit: true })).toBe('off');
      expect(await driver.transaction(setting)).toBe('on');
      expect(await setting(driver)).toBe('on');
      // What it wrote is committed like any other transaction's.
      await driver.transaction((tx) => tx.query("INSERT INTO tenants (name) VALUES ('async-commit') ON CONFLICT DO NOTHING"), { asyncCommit: true });
      expect(await driver.query("SELECT name FROM tenants WHERE name = 'async-commit'")).toHaveLength(1);
    });

    test('entity states go to the outbox only for tenants with subscriptions, for creates and updates alike', async () => {
      const tenant = 'outboxing';
      const id = 'urn:ngsi-ld:Thing:ob';
      const outbox = async () => Number((await driver.query<{ n: string }>(`SELECT count(*) AS n FROM outbox WHERE tenant = $1`, [tenant]))[0].n);
      const write = async () => {
        driver.outboxParams.length = 0;
        await store.mutate(tenant, [id], (current) => ({ upserts: [{ ...(current.get(id) ?? entity(id)), modifiedAt: new Date().toISOString() }], result: undefined }), { createTenant: true });
        return JSON.parse(driver.outboxParams[0]) as unknown[];
      };
      expect(await write()).toEqual([]);
      expect(await write()).toEqual([]);
      expect(await outbox()).toBe(0);
      await store.notifications.createSubscription(tenant, thingSubscription('urn:ngsi-ld:Subscription:ob', ['entityCreated', 'entityUpdated']));
      expect(await write()).toHaveLength(1);
      const created = 'urn:ngsi-ld:Thing:ob2';
      driver.outboxParams.length = 0;
      await store.mutate(tenant, [], () => ({ inserts: [entity(created)], result: undefined }));
      expect(JSON.parse(driver.outboxParams[0])).toMatchObject([{ id: created, before: null }]);
      expect(await outbox()).toBe(2);
      // Left for no notifier: the next test claims the outbox.
      await driver.query('DELETE FROM outbox WHERE tenant = $1', [tenant]);
    });

    test("the notifier's bookkeeping commits asynchronously; the outbox rows come with the entity, durably", async () => {
      const tenant = 'bookkeeping';
      const subscription = thingSubscription('urn:ngsi-ld:Subscription:bk', ['entityCreated']);
      await store.notifications.createSubscription(tenant, subscription);
      const before = driver.asyncCommits;
      await store.mutate(tenant, [], () => ({ inserts: [entity('urn:ngsi-ld:Thing:bk')], result: undefined }));
      expect(driver.asyncCommits).toBe(before);
      const routed: string[] = [];
      const { claimed } = await store.notifications.processChanges(10, 'me', 1000, async (changes) => {
        routed.push(...changes.map((c) => c.entityId));
        return [];
      });
      expect(claimed).toBe(1);
      expect(routed).toEqual(['urn:ngsi-ld:Thing:bk']);
      expect(driver.asyncCommits).toBe(before + 1);
      // Routed changes left the outbox.
      expect((await store.notifications.processChanges(10, 'me', 1000, async () => [])).claimed).toBe(0);
      const [queued] = await store.notifications.enqueue([{ tenant, subscriptionId: 'urn:ngsi-ld:Subscription:bk', notification: { id: 'urn:ngsi-ld:Notification:bk' } }], 'me', 1000);
      const counted = driver.asyncCommits;
      await store.notifications.recordOutcomes([{ delivery: queued, ok: true, at: new Date().toISOString() }]);
      expect(driver.asyncCommits).toBe(counted + 1);
      expect((await store.notifications.getSubscription(tenant, 'urn:ngsi-ld:Subscription:bk'))!.delivery.timesSent).toBe(1);
    });
  });

  test(`[${kind.name}] history written before its types were catalogued is found by type after the migration`, async () => {
    const opened = await kind.open(true);
    const upgraded = storeOn(opened.driver);
    try {
      // Migration 19 is the last one before the catalogue of history types.
      await migrate(opened.driver, 19);
      await opened.driver.query(
        `INSERT INTO attribute_history (tenant, entity_id, entity_types, attr, observed_at, created_at, modified_at, instance)
         SELECT '', 'urn:ngsi-ld:Old:' || g, ARRAY['https://example.org/Old' || (g % 2)], 'https://example.org/v', now(), now(), now(),
                jsonb_build_object('type', 'Property', 'value', g)
         FROM generate_series(1, 4) AS g`,
      );
      // An entity written while history was off: its next write with history on is not one that notes its types.
      await opened.driver.query(`INSERT INTO tenants (name) VALUES ('') ON CONFLICT DO NOTHING`);
      await opened.driver.query(
        `INSERT INTO entities (tenant, id, types, created_at, modified_at, attrs, version)
         VALUES ('', 'urn:ngsi-ld:Quiet:1', ARRAY['https://example.org/Quiet'], now(), now(), '{}', 1)`,
      );
      await migrate(opened.driver);
      expect(await upgraded.historyEntities('', { types: ['https://example.org/Old1'] }, 10, 0)).toEqual([
        { id: 'urn:ngsi-ld:Old:1', types: ['https://example.org/Old1'] },
        { id: 'urn:ngsi-ld:Old:3', types: ['https://example.org/Old1'] },
      ]);
      const quiet = await opened.driver.query<{ type: string }>(`SELECT type FROM history_types WHERE entity_id = 'urn:ngsi-ld:Quiet:1'`);
      expect(quiet.map((r) => r.type)).toEqual(['https://example.org/Quiet']);
    } finally {
      await upgraded.close();
      await opened.cleanup();
    }
  }, 60_000);

  test(`[${kind.name}] a write notes the types of the entities it creates or gives a new type, and no others`, async () => {
    const opened = await kind.open();
    await migrate(opened.driver);
    const counted = counting(opened.driver);
    const notes = storeOn(counted);
    const noted = async () =>
      (await opened.driver.query<{ entity_id: string; type: string }>(`SELECT entity_id, type FROM history_types WHERE entity_id LIKE 'urn:ngsi-ld:Noted:%' ORDER BY 1, 2`))
        .map((r) => `${r.entity_id} ${r.type}`);
    try {
      const [a, b] = ['urn:ngsi-ld:Noted:a', 'urn:ngsi-ld:Noted:b'];
      await notes.mutate('', [a, b], () => ({ inserts: [entity(a), entity(b)], result: undefined }));
      expect(await noted()).toEqual([`${a} https://example.org/Thing`, `${b} https://example.org/Thing`]);
      const again = (e: StoredEntity, types: string[]) => ({ ...e, types, modifiedAt: nowIso() });
      await notes.mutate('', [a, b], (current) => ({
        upserts: [again(current.get(a)!, ['https://example.org/Thing']), again(current.get(b)!, ['https://example.org/Thing', 'https://example.org/Other'])],
        result: undefined,
      }));
      // The parameter that names them: only b, whose type is new; a's write probes nothing.
      expect(counted.lastWriteParams?.[17]).toEqual([b]);
      expect(await noted()).toEqual([`${a} https://example.org/Thing`, `${b} https://example.org/Other`, `${b} https://example.org/Thing`]);
    } finally {
      await notes.close();
      await opened.cleanup();
    }
  });

  test(`[${kind.name}] closing waits for the operations accepted before it: they land, and none fails`, async () => {
    const opened = await kind.open();
    await migrate(opened.driver);
    const closing = storeOn(opened.driver);
    const ids = Array.from({ length: 300 }, (_, i) => `urn:ngsi-ld:Closing:${i}`);
    // Submitted one by one, they queue behind each other's groups: most still wait when close is called.
    const writes = ids.map((id) => closing.mutate('', [id], () => ({ inserts: [entity(id)], result: id })));
    const reads = ids.slice(0, 50).map((id) => closing.getEntity('', id));
    await closing.close();
    const settled = await Promise.allSettled([...writes, ...reads]);
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
    expect((await Promise.all(writes)).map((o) => o.result)).toEqual(ids);
    if (opened.schema) {
      const check = await openPgDriver(url!, opened.schema);
      const [row] = await check.query<{ n: string }>(`SELECT count(*) AS n FROM entities WHERE id LIKE 'urn:ngsi-ld:Closing:%'`);
      await check.close();
      expect(Number(row.n)).toBe(ids.length);
    }
    await opened.cleanup();
  });
}

if (url) {
  test('several processes migrating one fresh schema at once all succeed', async () => {
    const schema = freshSchemaName('store');
    const drivers = await Promise.all([1, 2, 3].map(() => openPgDriver(url, schema)));
    try {
      await Promise.all(drivers.map((d) => migrate(d)));
      const rows = await drivers[0].query<{ n: string }>('SELECT count(*) AS n FROM civitas_migrations');
      expect(Number(rows[0].n)).toBeGreaterThan(0);
    } finally {
      await Promise.all(drivers.map((d) => d.close()));
      await dropSchema(url, schema);
    }
  });
}

if (url) {
  test('the write lanes plan no bitmap scans, whose visits to dead row versions mark nothing for the next write to skip', async () => {
    const schema = freshSchemaName('store');
    const driver = await openPgDriver(url, schema);
    try {
      await migrate(driver);
      // Entities of twenty attributes, their value rows in no particular order as updates leave them.
      await driver.query(`INSERT INTO tenants (name) VALUES ('lanes')`);
      await driver.query(
        `INSERT INTO entities (tenant, id, types, created_at, modified_at, attrs)
         SELECT 'lanes', 'urn:ngsi-ld:Lane:' || g, ARRAY['https://example.org/Thing'], now(), now(), '{}' FROM generate_series(1, 5000) g`,
      );
      await driver.query(
        `INSERT INTO entity_values (tenant, entity_id, attr, num, whole, rel)
         SELECT 'lanes', 'urn:ngsi-ld:Lane:' || g, 'https://example.org/' || a, g, true, false
         FROM generate_series(1, 5000) g, generate_series(1, 20) a ORDER BY random()`,
      );
      await driver.query('ANALYZE entities, entity_values');
      // A tenth of the entities: a selection for which the planner otherwise prefers a bitmap scan.
      const ids = Array.from({ length: 500 }, (_, i) => `urn:ngsi-ld:Lane:${i * 10 + 1}`);
      const plan = async (db: SqlExecutor) =>
        JSON.stringify(await db.query('EXPLAIN (FORMAT JSON) DELETE FROM entity_values WHERE tenant = $1 AND entity_id = ANY($2::text[])', ['lanes', ids]));
      expect(await plan(driver)).toContain('Bitmap Heap Scan');
      expect(await plan(driver.writer)).not.toContain('Bitmap');
      // And the bookkeeping connection commits without waiting for the disk, where the others wait.
      const commits = async (db: SqlExecutor) => (await db.query<{ synchronous_commit: string }>('SHOW synchronous_commit'))[0].synchronous_commit;
      expect(await commits(driver.bookkeeper)).toBe('off');
      expect(await commits(driver.writer)).toBe('on');
    } finally {
      await driver.close();
      await dropSchema(url, schema);
    }
  });
}
