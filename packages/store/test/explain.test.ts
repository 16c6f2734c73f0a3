/**
 * Queries stay index-bound: with 100,000 entities of mixed types spread
 * over a city, EXPLAIN shows the planner using the type, attribute, id and
 * spatial indexes rather than scanning the table.
 */
import { parseGeoQuery, parseQ } from '@civitas/core';
import { INSERT_VALUES, migrate, VALUE_SOURCE } from '../src/migrations';
import { DELETE_REOBSERVED, historyEntities, historyInstances } from '../src/history';
import type { SqlDriver, SqlExecutor } from '../src/driver';
import type { SqlStore } from '../src/sqlStore';
import { storeOn } from '../src/openStore';
import { driverKinds } from '../../../test/support/driverKinds';

const N = 100_000;
const SDM = 'https://smartdatamodels.org/dataModel.';
const TYPES = [`${SDM}Parking/ParkingSpot`, `${SDM}Environment/AirQualityObserved`, `${SDM}Waste/WasteContainer`, `${SDM}Streetlighting/Streetlight`];
const FILL = `${SDM}Waste/fillingLevel`;
const LOCATION = 'https://uri.etsi.org/ngsi-ld/location';
const RARE = 'https://example.org/maintenanceDue';

/** Generated in SQL: four Smart Data Models types, a numeric attribute, points over a 10 km square around Madrid. */
async function load(driver: SqlDriver): Promise<void> {
  await driver.query(
    `INSERT INTO entities (tenant, id, types, created_at, modified_at, attrs)
     SELECT '', 'urn:ngsi-ld:Thing:' || lpad(g::text, 6, '0'), ARRAY[($1::jsonb ->> (g % 4))], now(), now(),
            jsonb_build_object($2::text, jsonb_build_array(jsonb_build_object('type', 'Property', 'value', (g * 7919) % 100)),
                               $3::text, jsonb_build_array(jsonb_build_object('type', 'GeoProperty', 'value',
                                 jsonb_build_object('type', 'Point', 'coordinates', jsonb_build_array(-3.75 + (g % 317) * 0.0003, 40.38 + (g / 317) * 0.0003)))))
     FROM generate_series(1, ${N}) AS g`,
    [JSON.stringify(TYPES), FILL, LOCATION],
  );
  await driver.query(
    `INSERT INTO entity_geo (tenant, entity_id, attr, geom)
     SELECT tenant, id, $1, ST_SetSRID(ST_GeomFromGeoJSON(attrs -> $1 -> 0 ->> 'value'), 4326) FROM entities WHERE tenant = ''`,
    [LOCATION],
  );
  await driver.query(`${INSERT_VALUES} FROM entities e ${VALUE_SOURCE}`);
  // One entity in a thousand has a rare attribute as well.
  await driver.query(
    `INSERT INTO entity_attrs (tenant, entity_id, attr)
     SELECT tenant, id, k FROM entities CROSS JOIN LATERAL jsonb_object_keys(attrs) AS k
     UNION ALL SELECT tenant, id, $1 FROM entities WHERE right(id, 3) = '000'`,
    [RARE],
  );
  await driver.query(`UPDATE entities SET attrs = attrs || jsonb_build_object($1::text, '[{"type": "Property", "value": true}]'::jsonb) WHERE right(id, 3) = '000'`, [RARE]);
  await driver.query('ANALYZE entities');
  await driver.query('ANALYZE entity_attrs');
  await driver.query('ANALYZE entity_values');
  await driver.query('ANALYZE entity_geo');
}

const kinds = driverKinds('explain');

for (const kind of kinds) {
  describe(`query plans at ${N} entities [${kind.name}]`, () => {
    let store: SqlStore;
    let cleanup: () => Promise<void>;

    let driver: SqlDriver;

    beforeAll(async () => {
      const opened = await kind.open();
      cleanup = opened.cleanup;
      driver = opened.driver;
      await migrate(opened.driver);
      await load(opened.driver);
      store = storeOn(opened.driver);
    }, 180_000);
    afterAll(async () => {
      await store.close();
      await cleanup();
    });

    const page = { limit: 20, offset: 0 };

    /** `count` instances of an attribute (the fill level) of one entity, a minute apart from `start` (values 1, 2, ...), then statistics as autovacuum would gather them. */
    const loadHistory = async (entity: string, count: number, start: string, attr = FILL) => {
      await driver.query(
        `INSERT INTO attribute_history (tenant, entity_id, entity_types, attr, observed_at, created_at, modified_at, instance)
         SELECT '', $1, ARRAY[$2], $3, t, t, t, jsonb_build_object('type', 'Property', 'value', g, 'observedAt', t)
         FROM generate_series(1, ${count}) AS g, LATERAL (SELECT $4::timestamptz + g * interval '1 minute' AS t) AS at`,
        [entity, TYPES[0], attr, start],
      );
      await driver.query('ANALYZE attribute_history');
    };
    /** The plan of the first statement `run` sends, which is captured instead of executed. */
    const planOf = async (run: (capture: SqlExecutor) => Promise<unknown>): Promise<string> => {
      const seen: Array<{ sql: string; params: unknown[] }> = [];
      const capture = { query: async <R>(sql: string | { text: string }, params: unknown[] = []) => (seen.push({ sql: typeof sql === 'string' ? sql : sql.text, params }), [] as R[]) };
      await run(capture);
      return (await driver.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${seen[0].sql}`, seen[0].params)).map((r) => r['QUERY PLAN']).join('\n');
    };
    const noScan = (plan: string) => expect(plan).not.toMatch(/Seq Scan on entities\b/);

    test('by id: the primary key', async () => {
      const plan = await store.explainQuery('', { ...page, ids: ['urn:ngsi-ld:Thing:004242'] });
      expect(plan).toMatch(/Index (Only )?Scan using entities_(pkey|id_prefix)/);
      noScan(plan);
    });

    test('by type with a q filter: the value index answers the comparison, no table scan', async () => {
      const plan = await store.explainQuery('', {
        ...page,
        types: [[TYPES[2]]],
        q: { expression: parseQ('fillingLevel>95'), expand: () => FILL },
      });
      // The planner may walk the value index by entity (merge join, stopping at the page) or by value; either is index-bound.
      expect(plan).toMatch(/Index Scan using entity_values_(num|entity)/);
      expect(plan).not.toMatch(/Seq Scan on entity_values\b/);
      noScan(plan);
      const found = await store.queryEntities('', { ...page, types: [[TYPES[2]]], q: { expression: parseQ('fillingLevel>95'), expand: () => FILL } });
      expect(found.entities.length).toBeGreaterThan(0);
      expect(found.entities.every((e) => e.types[0] === TYPES[2] && (e.attrs[FILL][0].value as number) > 95)).toBe(true);
    });

    test('by the existence of a rare attribute (attrs, q on the name alone): the attribute-name index', async () => {
      for (const query of [{ attrs: [RARE] }, { q: { expression: parseQ('maintenanceDue'), expand: () => RARE } }]) {
        const plan = await store.explainQuery('', { ...page, ...query });
        expect(plan).toMatch(/Index (Only )?Scan using entity_attrs_pkey/);
        noScan(plan);
        const found = await store.queryEntities('', { limit: 1000, offset: 0, ...query });
        expect(found.entities.length).toBe(N / 1000);
        expect(found.entities.every((e) => RARE in e.attrs)).toBe(true);
      }
    });

    test('appending to a long history compares the instances given with one range of the observedAt index, not the whole history', async () => {
      const entity = 'urn:ngsi-ld:Thing:000001';
      await loadHistory(entity, 50_000, '2025-01-01T00:00:00Z');
      const given = [10, 11].map((m) => ({ attr: FILL, instance: { type: 'Property', value: -m, observedAt: new Date(Date.parse('2025-01-01T00:00:00Z') + m * 60_000).toISOString() } }));
      const plan = (await driver.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${DELETE_REOBSERVED}`, ['', entity, JSON.stringify(given)])).map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Index Scan using attribute_history_observed/);
      expect(plan).toMatch(/Index Cond: .*COALESCE\(observed_at, modified_at\) >=/);
      // The two observations given again replace their stored instances, and only those.
      await driver.query(DELETE_REOBSERVED, ['', entity, JSON.stringify(given)]);
      const left = await driver.query<{ n: string; gone: string }>(
        `SELECT count(*) AS n, count(*) FILTER (WHERE observed_at IN ($2::timestamptz, $3::timestamptz)) AS gone FROM attribute_history WHERE tenant = '' AND entity_id = $1`,
        [entity, given[0].instance.observedAt, given[1].instance.observedAt],
      );
      expect([Number(left[0].n), Number(left[0].gone)]).toEqual([49998, 0]);
    });

    test("lastN reads the newest end of the attribute's time index, however many instances it has", async () => {
      const entity = 'urn:ngsi-ld:Thing:000002';
      await loadHistory(entity, 20_000, '2025-06-01T00:00:00Z');
      const plan = await planOf((capture) => historyInstances(capture, '', { ids: [entity], attrs: [FILL] }, { count: 100, newest: true }));
      expect(plan).toMatch(/Index Scan Backward using attribute_history_observed_at/);
      expect(plan).not.toMatch(/top-N heapsort|Sort Key: \(COALESCE/);
      const newest = await historyInstances(driver, '', { ids: [entity], attrs: [FILL] }, { count: 3, newest: true });
      expect(newest.map((i) => i.instance.value)).toEqual([19998, 19999, 20000]);
    });

    test("lastN by modifiedAt reads the newest end of the entity's modifiedAt index, skipping its other attributes", async () => {
      const entity = 'urn:ngsi-ld:Thing:000003';
      await loadHistory(entity, 20_000, '2025-07-01T00:00:00Z');
      await loadHistory(entity, 20_000, '2025-07-01T00:00:30Z', RARE);
      const selection = { ids: [entity], attrs: [FILL], timeProperty: 'modifiedAt' as const };
      const plan = await planOf((capture) => historyInstances(capture, '', selection, { count: 100, newest: true }));
      expect(plan).toMatch(/Index Scan Backward using attribute_history_entity_modified/);
      expect(plan).not.toMatch(/top-N heapsort|Sort Key: attribute_history\.modified_at/);
      const newest = await historyInstances(driver, '', selection, { count: 3, newest: true });
      expect(newest.map((i) => [i.attr, i.instance.value])).toEqual([[FILL, 19998], [FILL, 19999], [FILL, 20000]]);
    });

    test('a temporal query by a rare type reads the history of the entities catalogued with it, not the whole history', async () => {
      const RARE_TYPE = 'https://example.org/Inspection';
      // A history instance of each of 20,000 entities, one in a thousand of them also of the rare type, catalogued as writes do.
      await driver.query(
        `INSERT INTO attribute_history (tenant, entity_id, entity_types, attr, observed_at, created_at, modified_at, instance)
         SELECT '', id, CASE WHEN right(id, 3) = '000' THEN ARRAY[types[1], $1] ELSE types END, $2, now(), now(), now(),
                jsonb_build_object('type', 'Property', 'value', 1)
         FROM entities WHERE id <= 'urn:ngsi-ld:Thing:020000'`,
        [RARE_TYPE, FILL],
      );
      await driver.query(
        `INSERT INTO history_types (tenant, type, entity_id)
         SELECT DISTINCT tenant, unnest(entity_types), entity_id FROM attribute_history ON CONFLICT DO NOTHING`,
      );
      await driver.query('ANALYZE attribute_history');
      await driver.query('ANALYZE history_types');
      const plan = await planOf((capture) => historyEntities(capture, '', { types: [RARE_TYPE] }, 100, 0));
      expect(plan).toMatch(/history_types_pkey/);
      expect(plan).not.toMatch(/Seq Scan on attribute_history\b/);
      const found = await historyEntities(driver, '', { types: [RARE_TYPE] }, 100, 0);
      expect(found.map((e) => e.id)).toEqual(Array.from({ length: 20 }, (_, i) => `urn:ngsi-ld:Thing:${String((i + 1) * 1000).padStart(6, '0')}`));
    });

    test('geo near with maxDistance: the spatial index on the geography', async () => {
      const geo = parseGeoQuery({ georel: 'near;maxDistance==100', geometry: 'Point', coordinates: '[-3.70,40.40]' })!;
      const plan = await store.explainQuery('', { ...page, limit: 200, geo: { ...geo, propertyIri: LOCATION } });
      expect(plan).toMatch(/entity_geo_geog/);
      expect(plan).not.toMatch(/Seq Scan on entity_geo\b/);
      const found = await store.queryEntities('', { ...page, limit: 1000, geo: { ...geo, propertyIri: LOCATION } });
      // Points 0.0003 degrees apart (about 26 m by 33 m) within a 100 m circle: a few dozen.
      expect(found.entities.length).toBeGreaterThan(10);
      expect(found.entities.length).toBeLessThan(200);
    });
  });
}
