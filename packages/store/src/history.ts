/**
 * Reading attribute history (the temporal API, 5.7.3 / 5.7.4): instances
 * in a time window or the last N of each attribute, and aggregations over
 * periods, all computed in SQL on the history indexes.
 */
import type { AttributeInstance, TemporalWindow, TimeProperty } from '@civitas/core';
import type { SqlExecutor } from './driver';

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
  time?: TimeFilter;
}

export interface HistoryInstance {
  entityId: string;
  entityTypes: string[];
  attr: string;
  instanceId: string;
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

const COLUMN: Record<TimeProperty, string> = { observedAt: 'observed_at', createdAt: 'created_at', modifiedAt: 'modified_at' };
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

function where(tenant: string, s: HistorySelection, params: unknown[], timeColumn: string): string {
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const conditions = [`tenant = ${p(tenant)}`];
  if (s.ids) conditions.push(`entity_id = ANY(${p(s.ids)}::text[])`);
  if (s.idPattern !== undefined) conditions.push(`entity_id ~ ${p(s.idPattern)}`);
  if (s.types) conditions.push(`entity_types && ${p(s.types)}::text[]`);
  if (s.attrs) conditions.push(`attr = ANY(${p(s.attrs)}::text[])`);
  if (s.time) {
    const t = s.time;
    if (t.timerel === 'before') conditions.push(`${timeColumn} < ${p(t.timeAt)}::timestamptz`);
    else if (t.timerel === 'after') conditions.push(`${timeColumn} > ${p(t.timeAt)}::timestamptz`);
    else conditions.push(`${timeColumn} >= ${p(t.timeAt)}::timestamptz AND ${timeColumn} < ${p(t.endTimeAt)}::timestamptz`);
  }
  return conditions.join(' AND ');
}

/** The entities (id and latest types) with history matching the selection, by id, one page. */
export async function historyEntities(db: SqlExecutor, tenant: string, s: HistorySelection, limit: number, offset: number): Promise<Array<{ id: string; types: string[] }>> {
  const params: unknown[] = [];
  const column = COLUMN[s.time?.timeproperty ?? 'observedAt'];
  const rows = await db.query<{ id: string; types: string[] }>(
    `SELECT DISTINCT ON (entity_id) entity_id AS id, entity_types AS types FROM attribute_history
     WHERE ${where(tenant, s, params, column)} ORDER BY entity_id, modified_at DESC LIMIT ${Number(limit)} OFFSET ${Number(offset)}`,
    params,
  );
  return rows;
}

/** The instances of the selection in time order; with lastN, the last N of each attribute of each entity. */
export async function historyInstances(db: SqlExecutor, tenant: string, s: HistorySelection, lastN?: number): Promise<HistoryInstance[]> {
  const params: unknown[] = [];
  const column = COLUMN[s.time?.timeproperty ?? 'observedAt'];
  // Instances without the time property (no observedAt) order by their modification.
  const t = `coalesce(${column}, modified_at)`;
  const filter = where(tenant, s, params, t);
  const ranked = `SELECT *, ${t} AS t, row_number() OVER (PARTITION BY entity_id, attr ORDER BY ${t} DESC, instance_id DESC) AS back FROM attribute_history WHERE ${filter}`;
  const rows = await db.query<{ entity_id: string; entity_types: string[]; attr: string; instance_id: string; instance: AttributeInstance | string }>(
    `SELECT entity_id, entity_types, attr, instance_id::text AS instance_id, instance FROM (${ranked}) h
     ${lastN !== undefined ? `WHERE back <= ${Number(lastN)}` : ''}
     ORDER BY entity_id, attr, t, instance_id`,
    params,
  );
  return rows.map((r) => ({
    entityId: r.entity_id,
    entityTypes: r.entity_types,
    attr: r.attr,
    instanceId: r.instance_id,
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
  const column = COLUMN[s.time?.timeproperty ?? 'observedAt'];
  const t = `coalesce(${column}, modified_at)`;
  const filter = where(tenant, s, params, t);
  let bucket = `min(${t}) OVER (PARTITION BY entity_id, attr)`;
  if (periodSeconds !== undefined) {
    // Periods start at the window's start, or at the epoch without one.
    params.push(s.time?.timeAt ?? '1970-01-01T00:00:00Z');
    bucket = `date_bin(make_interval(secs => ${Number(periodSeconds)}), ${t}, $${params.length}::timestamptz)`;
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
  return rows.flatMap((r) =>
    methods.map((method) => ({
      entityId: r.entity_id,
      attr: r.attr,
      method,
      value: r[method] === null ? null : Number(r[method]),
      start: r.start,
      end: r.end,
    })),
  );
}
