/** EntityQuery -> the WHERE clause over the entities table, every value a parameter. */
import type { OrderMember } from '@civitas/core';
import { compileGeo } from './geoSql';
import { compileQ, hasAnyAttribute, pathTarget, SqlParams } from './qSql';
import { LIVE_ENTITY } from './entityRows';
import type { EntityQuery } from './store';

const MEMBER_COLUMNS: Record<OrderMember, string> = { id: 'id', type: 'types[1]', scope: 'scope[1]', createdAt: 'created_at', modifiedAt: 'modified_at' };

/**
 * ORDER BY for a query (4.23): its keys on the first instance of each
 * attribute, then the id. `collation` is the SQL name of the collation
 * strings compare with; by default ICU root, as 4.23.1 asks.
 */
export function compileOrder(query: EntityQuery, params: SqlParams, collation = '"und-x-icu"'): string {
  const ordering = query.ordering;
  if (!ordering) return 'id';
  const keys = ordering.keys.flatMap((key) => {
    const direction = key.descending ? 'DESC' : 'ASC';
    if (key.kind === 'member') return [`${MEMBER_COLUMNS[key.member]} ${direction}`];
    const instance = `(attrs -> ${params.add(ordering.expand(key.kind === 'value' ? key.path.attribute : key.attribute))} -> 0)`;
    if (key.kind === 'distance') {
      // GeoProperties by distance first, then anything else (4.23.2); entities without the attribute last either way.
      const isGeo = `(${instance} ->> 'type' = 'GeoProperty')`;
      const from = `ST_SetSRID(ST_GeomFromGeoJSON(${params.add(JSON.stringify(ordering.from))}), 4326)::geography`;
      const distance = `ST_Distance(ST_SetSRID(ST_GeomFromGeoJSON(${instance} ->> 'value'), 4326)::geography, ${from}, false)`;
      return [`(CASE WHEN ${isGeo} THEN 0 WHEN ${instance} IS NOT NULL THEN 1 END) ASC NULLS LAST`, `(CASE WHEN ${isGeo} THEN ${distance} END) ${direction}`];
    }
    const { target: v } = pathTarget(instance, key.path, ordering.expand, params);
    return [...valueOrder(v, collation).map((k) => `${k} ${direction} NULLS LAST`)];
  });
  return [...keys, 'id'].join(', ');
}

/**
 * Sort keys for a JSON value in the datatype order of 4.23.2 (numbers,
 * strings, objects, arrays, booleans, times, dates, date-times, null; an
 * absent value gives NULL), then within each datatype by its own order.
 */
function valueOrder(v: string, collation: string): string[] {
  const typed = `(jsonb_typeof(${v}) = 'object' AND ${v} ? '@value')`;
  const rank = `(CASE
    WHEN ${v} IS NULL THEN NULL
    WHEN ${typed} THEN CASE WHEN ${v} ->> '@type' LIKE '%DateTime' THEN 7 WHEN ${v} ->> '@type' LIKE '%Date' THEN 6 ELSE 5 END
    ELSE CASE jsonb_typeof(${v}) WHEN 'number' THEN 0 WHEN 'string' THEN 1 WHEN 'object' THEN 2 WHEN 'array' THEN 3 WHEN 'boolean' THEN 4 ELSE 8 END
  END)`;
  return [
    rank,
    // CASE, not AND: the planner may evaluate a cast before the type test that guards it.
    `(CASE WHEN jsonb_typeof(${v}) = 'number' THEN (${v})::numeric END)`,
    `(CASE WHEN jsonb_typeof(${v}) = 'string' THEN ${v} #>> '{}' END) COLLATE ${collation}`,
    `(CASE WHEN ${typed} THEN ${v} ->> '@value' END)`,
    v,
  ];
}

/**
 * The WHERE clause of a query over stored entities, or with `documentsOnly`
 * over any rows of the same shape (id, types, scope, attrs) that have no
 * entries in the side tables of stored entities.
 */
export function compileEntityFilter(tenant: string, query: EntityQuery, documentsOnly = false): { filter: string; params: unknown[] } {
  const sql = new SqlParams();
  const tenantParam = sql.add(tenant);
  const sideTables = documentsOnly ? undefined : tenantParam;
  // Rows that are not stored entities have no expiry.
  const where = documentsOnly ? [`tenant = ${tenantParam}`] : [`tenant = ${tenantParam}`, LIVE_ENTITY];
  // A plain text[] parameter: the planner sees the values and can estimate how selective they are.
  const array = (values: string[]) => `${sql.add(values)}::text[]`;
  const typeFilter = (types: string[][]) =>
    // A single alternative of single types is the common case; `&&` lets the GIN index serve it.
    types.every((all) => all.length === 1)
      ? `types && ${array(types.map(([t]) => t))}`
      : `(${types.map((all) => `types @> ${array(all)}`).join(' OR ')})`;
  if (query.ids) where.push(`id = ANY(${array(query.ids)})`);
  if (query.idPattern !== undefined) where.push(`id ~ ${sql.add(query.idPattern)}`);
  if (query.types) where.push(typeFilter(query.types));
  if (query.anyOf) {
    const alternatives = query.anyOf.map((s) => {
      const all = ['true'];
      if (s.id !== undefined) all.push(`id = ${sql.add(s.id)}`);
      if (s.idPattern !== undefined) all.push(`id ~ ${sql.add(s.idPattern)}`);
      if (s.types) all.push(typeFilter(s.types));
      return `(${all.join(' AND ')})`;
    });
    where.push(`(${alternatives.join(' OR ')})`);
  }
  if (query.attrs) where.push(hasAnyAttribute(array(query.attrs), sideTables));
  if (query.q) where.push(compileQ(query.q.expression, query.q.expand, sql, sideTables, tenantParam));
  if (query.scopes) {
    const some = (pattern: string) => `EXISTS (SELECT 1 FROM unnest(scope) AS s WHERE s ~ ${sql.add(pattern)})`;
    where.push(`(${query.scopes.map((all) => `(${all.map(some).join(' AND ')})`).join(' OR ')})`);
  }
  if (query.geo) where.push(compileGeo(query.geo, sql, sideTables));
  return { filter: where.join(' AND '), params: sql.values };
}
