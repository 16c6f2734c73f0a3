/**
 * Reading attribute history (the temporal API, 5.7.3 / 5.7.4): instances
 * in a time window or the last N of each attribute, and aggregations over
 * periods, all computed in SQL on the history indexes.
 */
import type { AttributeInstance, GeoQuery, QExpression, TemporalWindow, TimeProperty } from '@civitas/core';
import type { SqlExecutor } from './driver';
import { compileQ, SqlParams } from './qSql';
import { compileGeo } from './geoSql';

/** The time window of a history read (timeproperty observedAt, createdAt or modifiedAt). */
export type TimeFilter = TemporalWindow;

export interface HistorySelection {
  /** Entity ids (OR); undefined with idPattern / types. */
  ids?: string[];
  idPattern?: string;
  /** Expanded type IRIs (any of them). */
  types?: string[];
  /** Expanded attribute IRIs; undefined means all. */
  attrs?: string[];
  /** Only instances with these datasetIds (`@none`: the default instance). */
  datasetIds?: string[];
  time?: TimeFilter;
  /** The time property instances are read by when there is no window (`time` names its own). */
  timeProperty?: TimeProperty;
  /** Deletion records too, whatever the time property (to follow how a value changed, deletions included). */
  withDeletions?: boolean;
}

export interface HistoryInstance {
  entityId: string;
  entityTypes: string[];
  attr: string;
  instanceId: string;
  /** When the instance counts, by the selection's timeproperty (ISO 8601, microseconds). */
  time: string;
  instance: AttributeInstance;
}

export const AGGREGATION_METHODS = ['totalCount', 'distinctCount', 'sum', 'avg', 'min', 'max', 'stddev', 'sumsq'] as const;
export type AggregationMethod = (typeof AGGREGATION_METHODS)[number];

export interface AggregateRow {
  entityId: string;
  attr: string;
  method: AggregationMethod;
  value: number | null;
  start: string;
  end: string;
}

/** The time of an instance for each timeproperty; one without observedAt counts at its modification. Indexed as written. */
const TIME: Record<TimeProperty, string> = { observedAt: 'coalesce(observed_at, modified_at)', createdAt: 'created_at', modifiedAt: 'modified_at', deletedAt: 'deleted_at' };
const iso = (column: string) => `to_char((${column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The SQL of each aggregation over the numeric values (`n`) or the JSON values (`v`) of a period. */
const AGGREGATES: Record<AggregationMethod, string> = {
  totalCount: 'count(*)::double precision',
  distinctCount: 'count(DISTINCT v)::double precision',
  sum: 'sum(n)',
  avg: 'avg(n)',
  min: 'min(n)',
  max: 'max(n)',
  stddev: 'stddev_samp(n)',
  sumsq: 'sum(n * n)',
};

/** The column a selection reads instances by: its window's timeproperty, or its own, or observedAt. */
function timeColumn(s: HistorySelection): string {
  return TIME[s.time?.timeproperty ?? s.timeProperty ?? 'observedAt'];
}

function where(tenant: string, s: HistorySelection, params: unknown[], timeColumn: string): string {
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const tenantParam = p(tenant);
  // Deletion records answer timeproperty=deletedAt only: they hold no value to show, count or aggregate.
  // An instance of a transient attribute is gone from the history when it expires (4.22).
  const conditions = [`tenant = ${tenantParam}`, "(instance ->> 'expiresAt' IS NULL OR (instance ->> 'expiresAt')::timestamptz > now())"];
  if (timeColumn === TIME.deletedAt) conditions.push('deleted_at IS NOT NULL');
  else if (!s.withDeletions) conditions.push('deleted_at IS NULL');
  if (s.ids) conditions.push(`entity_id = ANY(${p(s.ids)}::text[])`);
  if (s.idPattern !== undefined) conditions.push(`entity_id ~ ${p(s.idPattern)}`);
  if (s.types) {
    // The entities noted with one of the types (an index range each), then the instances written while the entity had one.
    const types = p(s.types);
    conditions.push(
      `entity_id IN (SELECT entity_id FROM history_types WHERE tenant = ${tenantParam} AND type = ANY(${types}::text[]))`,
      `entity_types && ${types}::text[]`,
    );
  }
  if (s.attrs) conditions.push(`attr = ANY(${p(s.attrs)}::text[])`);
  if (s.datasetIds) conditions.push(`coalesce(dataset_id, '@none') = ANY(${p(s.datasetIds)}::text[])`);
  if (s.time) {
    const t = s.time;
    if (t.timerel === 'before') conditions.push(`${timeColumn} < ${p(t.timeAt)}::timestamptz`);
    // after includes timeAt itself; before and the end of between exclude theirs (4.11).
    else if (t.timerel === 'after') conditions.push(`${timeColumn} >= ${p(t.timeAt)}::timestamptz`);
    else conditions.push(`${timeColumn} >= ${p(t.timeAt)}::timestamptz AND ${timeColumn} < ${p(t.endTimeAt)}::timestamptz`);
  }
  return conditions.join(' AND ');
}

/** The entities (id and latest types) with history matching the selection, by id (ascending or descending), one page. */
export async function historyEntities(
  db: SqlExecutor,
  tenant: string,
  s: HistorySelection,
  limit: number,
  offset: number,
  descending = false,
): Promise<Array<{ id: string; types: string[] }>> {
  const order = descending ? 'DESC' : 'ASC';
  const params: unknown[] = [];
  const filter = where(tenant, s, params, timeColumn(s));
  // Named entities are probed one by one (an index range each); others are found by a scan of the selection.
  const keys = s.ids
    ? `SELECT e AS entity_id FROM unnest($${params.indexOf(s.ids) + 1}::text[]) AS e
       WHERE EXISTS (SELECT 1 FROM attribute_history WHERE ${filter} AND entity_id = e)`
    : `SELECT DISTINCT entity_id FROM attribute_history WHERE ${filter}`;
  // The entities of a page first, then each one's latest types from the newest end of its index.
  return db.query<{ id: string; types: string[] }>(
    `SELECT k.entity_id AS id,
            (SELECT entity_types FROM attribute_history h WHERE h.tenant = $1 AND h.entity_id = k.entity_id ORDER BY modified_at DESC LIMIT 1) AS types
     FROM (${keys} ORDER BY entity_id ${order} LIMIT ${Number(limit)} OFFSET ${Number(offset)}) AS k
     ORDER BY k.entity_id ${order}`,
    params,
  );
}

/** How many entities have history matching the selection (NGSILD-Results-Count of a temporal query). */
export async function historyEntityCount(db: SqlExecutor, tenant: string, s: HistorySelection): Promise<number> {
  const params: unknown[] = [];
  const filter = where(tenant, s, params, timeColumn(s));
  const [row] = await db.query<{ n: string }>(`SELECT count(DISTINCT entity_id)::text AS n FROM attribute_history WHERE ${filter}`, params);
  return Number(row.n);
}

/** Filters judged on the instances of a temporal selection rather than on the current state (5.7.4.4). */
export interface HistoryFilters {
  q?: { expression: QExpression; expand: (name: string) => string };
  geo?: GeoQuery & { propertyIri: string };
}

/**
 * The entities (ids, in order, at most `cap` + 1) whose instances in the
 * selection satisfy q and the geo-query: each term is judged against every
 * instance of its attribute that the selection (type, id, time window)
 * keeps, any one of them sufficing, as for multi-instance attributes.
 */
export async function historyMatchingEntities(db: SqlExecutor, tenant: string, s: HistorySelection, filters: HistoryFilters, cap: number): Promise<string[]> {
  const sql = new SqlParams();
  // Every attribute of the window takes part, whichever attrs are to be shown.
  const filter = where(tenant, { ...s, attrs: undefined }, sql.values, timeColumn(s));
  const conditions = ['true'];
  if (filters.q) conditions.push(compileQ(filters.q.expression, filters.q.expand, sql, undefined));
  if (filters.geo) conditions.push(compileGeo(filters.geo, sql, undefined));
  const rows = await db.query<{ id: string }>(
    `SELECT id FROM (
       SELECT entity_id AS id, jsonb_object_agg(attr, instances) AS attrs
       FROM (SELECT entity_id, attr, jsonb_agg(instance) AS instances FROM attribute_history WHERE ${filter} GROUP BY entity_id, attr) AS a
       GROUP BY entity_id
     ) AS windowed
     WHERE ${conditions.join(' AND ')}
     ORDER BY id LIMIT ${Number(cap) + 1}`,
    sql.values,
  );
  return rows.map((r) => r.id);
}

/** How many instances of each attribute of each entity to read, from which end of its history. */
export interface InstanceTake {
  count: number;
  /** The most recent ones (lastN, backwards pagination); otherwise the least recent (forwards). */
  newest: boolean;
}

/**
 * The instances of the selection in time order. With `take`, only that many
 * of each attribute of each entity, each read from one end of the time index
 * (one index range per attribute, however long the history).
 */
export async function historyInstances(db: SqlExecutor, tenant: string, s: HistorySelection, take?: InstanceTake): Promise<HistoryInstance[]> {
  const params: unknown[] = [];
  const t = timeColumn(s);
  const columns = `entity_id, entity_types, attr, instance_id::text AS instance_id, instance, ${t} AS t, ${iso(t)} AS time, instance_id AS n`;
  let sql: string;
  if (take === undefined) {
    sql = `SELECT ${columns} FROM attribute_history WHERE ${where(tenant, s, params, t)}`;
  } else {
    // The (entity, attribute) pairs: given ones when both lists are, else those the history holds.
    let keys: string;
    if (s.ids && s.attrs) {
      params.push(s.ids, s.attrs);
      keys = `SELECT e AS entity_id, a AS attr FROM unnest($${params.length - 1}::text[]) AS e CROSS JOIN unnest($${params.length}::text[]) AS a`;
    } else {
      keys = `SELECT DISTINCT entity_id, attr FROM attribute_history WHERE ${where(tenant, s, params, t)}`;
    }
    const direction = take.newest ? 'DESC' : 'ASC';
    // Each pair's instances: its entity and attribute are the pair's alone. Their lists again would make the planner count
    // each condition twice, believe a pair has a handful of instances, and read all of them to sort them rather than read
    // one end of the time index.
    const pairFilter = where(tenant, { ...s, ids: undefined, attrs: undefined }, params, t);
    sql = `SELECT h.* FROM (${keys}) AS k CROSS JOIN LATERAL (
             SELECT ${columns} FROM attribute_history
             WHERE ${pairFilter} AND entity_id = k.entity_id AND attr = k.attr
             ORDER BY ${t} ${direction}, n ${direction} LIMIT ${Number(take.count)}
           ) AS h`;
  }
  const rows = await db.query<{ entity_id: string; entity_types: string[]; attr: string; instance_id: string; instance: AttributeInstance | string; time: string }>(
    `SELECT * FROM (${sql}) AS x ORDER BY entity_id, attr, t, n`,
    params,
  );
  return rows.map((r) => ({
    entityId: r.entity_id,
    entityTypes: r.entity_types,
    attr: r.attr,
    instanceId: r.instance_id,
    time: r.time,
    instance: typeof r.instance === 'string' ? JSON.parse(r.instance) : r.instance,
  }));
}

/**
 * Aggregations (4.5.19) per attribute and period: periods of `periodSeconds`
 * from the window's start (or the first instance), or one period over the
 * whole window when no duration is given.
 */
export async function historyAggregates(
  db: SqlExecutor,
  tenant: string,
  s: HistorySelection,
  methods: AggregationMethod[],
  periodSeconds: number | undefined,
): Promise<AggregateRow[]> {
  const params: unknown[] = [];
  const t = timeColumn(s);
  const filter = where(tenant, s, params, t);
  const first = `min(${t}) OVER (PARTITION BY entity_id, attr)`;
  let bucket = first;
  if (periodSeconds !== undefined) {
    // Periods start at the window's start, or at the attribute's first instance without one.
    let origin = first;
    if (s.time) {
      params.push(s.time.timeAt);
      origin = `$${params.length}::timestamptz`;
    }
    bucket = `date_bin(make_interval(secs => ${Number(periodSeconds)}), ${t}, ${origin})`;
  }
  const end = periodSeconds !== undefined ? `start + make_interval(secs => ${Number(periodSeconds)})` : 'max(last)';
  const columns = methods.map((m) => `${AGGREGATES[m]} AS "${m}"`).join(', ');
  const rows = await db.query<Record<string, unknown> & { entity_id: string; attr: string; start: string; end: string }>(
    `SELECT entity_id, attr, ${iso('start')} AS start, ${iso(end)} AS "end", ${columns}
     FROM (SELECT entity_id, attr, ${bucket} AS start, ${t} AS last, instance -> 'value' AS v,
                  CASE WHEN jsonb_typeof(instance -> 'value') = 'number' THEN (instance ->> 'value')::double precision END AS n
           FROM attribute_history WHERE ${filter}) h
     GROUP BY entity_id, attr, start ORDER BY entity_id, attr, start`,
    params,
  );
  // Period bounds are whole seconds more often than not: written without an empty fraction.
  const time = (iso: string) => iso.replace(/\.0{6}Z$/, 'Z');
  return rows.flatMap((r) =>
    methods.map((method) => ({
      entityId: r.entity_id,
      attr: r.attr,
      method,
      value: r[method] === null ? null : Number(r[method]),
      start: time(r.start),
      end: time(r.end),
    })),
  );
}

/** One instance to add to the history of an attribute. */
export interface NewHistoryInstance {
  attr: string;
  instance: AttributeInstance;
}

/**
 * An instance observed at the same time as one given (attribute and
 * datasetId alike) is the same observation, given again: it goes. The
 * stored instances compared are those of the given attributes within the
 * time span given, one range of the observedAt index, so that appending to
 * a long history does not read all of it for every instance appended.
 */
export const DELETE_REOBSERVED = `
  WITH given AS MATERIALIZED (
    SELECT x.attr, x.instance ->> 'datasetId' AS dataset_id, (x.instance ->> 'observedAt')::timestamptz AS observed_at
    FROM jsonb_to_recordset($3::jsonb) AS x(attr text, instance jsonb)
    WHERE x.instance ? 'observedAt'
  ),
  candidates AS MATERIALIZED (
    SELECT instance_id, attr, dataset_id, observed_at FROM attribute_history
    WHERE tenant = $1 AND entity_id = $2 AND deleted_at IS NULL AND observed_at IS NOT NULL
      AND attr = ANY(ARRAY(SELECT DISTINCT attr FROM given))
      AND coalesce(observed_at, modified_at) BETWEEN (SELECT min(observed_at) FROM given) AND (SELECT max(observed_at) FROM given)
  )
  DELETE FROM attribute_history WHERE instance_id IN (
    SELECT c.instance_id FROM candidates c
    JOIN given g ON g.attr = c.attr AND g.observed_at = c.observed_at AND g.dataset_id IS NOT DISTINCT FROM c.dataset_id
  )`;

/** Appends instances to an entity's history (temporal create and append, 5.6.11, 5.6.12). */
export async function appendHistory(db: SqlExecutor, tenant: string, entityId: string, types: string[], added: NewHistoryInstance[], replaceObserved = false): Promise<void> {
  if (added.length === 0) return;
  if (replaceObserved) await db.query(DELETE_REOBSERVED, [tenant, entityId, JSON.stringify(added)]);
  await db.query(
    `WITH noted AS (INSERT INTO history_types (tenant, type, entity_id) SELECT $1, t, $2 FROM unnest($3::text[]) AS t ON CONFLICT DO NOTHING)
     INSERT INTO attribute_history (tenant, entity_id, entity_types, attr, dataset_id, observed_at, created_at, modified_at, instance)
     SELECT $1, $2, $3::text[], x.attr, x.instance ->> 'datasetId', (x.instance ->> 'observedAt')::timestamptz,
            (x.instance ->> 'createdAt')::timestamptz, (x.instance ->> 'modifiedAt')::timestamptz, x.instance
     FROM jsonb_to_recordset($4::jsonb) AS x(attr text, instance jsonb)`,
    [tenant, entityId, types, JSON.stringify(added)],
  );
}

/** The types an entity's history was last written with; undefined when it has none. */
export async function historyTypes(db: SqlExecutor, tenant: string, entityId: string): Promise<string[] | undefined> {
  const rows = await db.query<{ entity_types: string[] }>(
    // The newest end of the (tenant, entity, modified_at) index, as for historyEntities.
    'SELECT entity_types FROM attribute_history WHERE tenant = $1 AND entity_id = $2 ORDER BY modified_at DESC LIMIT 1',
    [tenant, entityId],
  );
  return rows[0]?.entity_types;
}

/** What to delete from a history: everything, one attribute (one dataset or all), or one instance. */
export interface HistoryDeletion {
  attr?: string;
  /** With attr: only this dataset (`@none` the default); undefined with deleteAll removes every dataset. */
  datasetId?: string;
  deleteAll?: boolean;
  instanceId?: string;
}

/** Deletes from an entity's history (5.6.13, 5.6.15, 5.6.16); how many instances went. */
export async function deleteHistory(db: SqlExecutor, tenant: string, entityId: string, d: HistoryDeletion): Promise<number> {
  const params: unknown[] = [tenant, entityId];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const conditions = ['tenant = $1', 'entity_id = $2'];
  if (d.attr !== undefined) {
    conditions.push(`attr = ${p(d.attr)}`);
    if (d.instanceId !== undefined) conditions.push(`instance_id = ${p(Number(d.instanceId))}`);
    else if (!d.deleteAll) conditions.push(d.datasetId === undefined || d.datasetId === '@none' ? 'dataset_id IS NULL' : `dataset_id = ${p(d.datasetId)}`);
  }
  const rows = await db.query(`DELETE FROM attribute_history WHERE ${conditions.join(' AND ')} RETURNING 1`, params);
  return rows.length;
}

/** Replaces one instance (5.6.14); false when there is no such instance. */
export async function replaceHistoryInstance(db: SqlExecutor, tenant: string, entityId: string, attr: string, instanceId: string, instance: AttributeInstance): Promise<boolean> {
  const rows = await db.query(
    `UPDATE attribute_history SET instance = $5::jsonb, dataset_id = $5::jsonb ->> 'datasetId',
       observed_at = ($5::jsonb ->> 'observedAt')::timestamptz, modified_at = ($5::jsonb ->> 'modifiedAt')::timestamptz
     WHERE tenant = $1 AND entity_id = $2 AND attr = $3 AND instance_id = $4 RETURNING 1`,
    [tenant, entityId, attr, Number(instanceId), JSON.stringify(instance)],
  );
  return rows.length > 0;
}

/**
 * Removes instances older than `before` (by the time they count at), a
 * batch per statement so that writers are never held up for long; how many
 * went.
 */
export async function pruneHistory(db: SqlExecutor, before: string, batchSize: number): Promise<number> {
  let removed = 0;
  for (;;) {
    const rows = await db.query(
      `DELETE FROM attribute_history WHERE instance_id IN (
         SELECT instance_id FROM attribute_history WHERE coalesce(observed_at, modified_at) < $1::timestamptz LIMIT ${Number(batchSize)}
       ) RETURNING 1`,
      [before],
    );
    removed += rows.length;
    if (rows.length < batchSize) return removed;
  }
}
