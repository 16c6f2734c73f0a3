/** EntityQuery -> the WHERE clause over the entities table, every value a parameter. */
import { ATTRIBUTE_METADATA } from '@civitas/core';
import { compileGeo } from './geoSql';
import { compileQ, SqlParams } from './qSql';
import type { EntityQuery } from './store';

/** ORDER BY for a query: its orderBy keys (first instance of an attribute), then id. */
export function compileOrder(query: EntityQuery, params: unknown[]): string {
  const keys = (query.orderBy ?? []).map((key) => {
    const direction = key.descending ? 'DESC' : 'ASC';
    if ('member' in key) return `${key.member === 'type' ? 'types[1]' : key.member === 'id' ? 'id' : key.member === 'createdAt' ? 'created_at' : 'modified_at'} ${direction}`;
    const p = (v: string) => {
      params.push(v);
      return `$${params.length}`;
    };
    let node = `(attrs -> ${p(key.attribute)} -> 0)`;
    const path = [...key.path];
    const last = path[path.length - 1];
    const metadata = last !== undefined && ATTRIBUTE_METADATA.has(last) ? path.pop() : undefined;
    for (const sub of path) node = `(${node} -> 'sub' -> ${p(sub)})`;
    const value = metadata ? `(${node} -> ${p(metadata)})` : `coalesce(${node} -> 'value', ${node} -> 'object', ${node} -> 'vocab')`;
    // Entities without the attribute sort last either way.
    return `${value} ${direction} NULLS LAST`;
  });
  return [...keys, 'id'].join(', ');
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
  const where = [`tenant = ${tenantParam}`];
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
  if (query.attrs) where.push(`attrs ?| ${array(query.attrs)}`);
  if (query.q) where.push(compileQ(query.q.expression, query.q.expand, sql, sideTables));
  if (query.scopes) {
    const some = (pattern: string) => `EXISTS (SELECT 1 FROM unnest(scope) AS s WHERE s ~ ${sql.add(pattern)})`;
    where.push(`(${query.scopes.map((all) => `(${all.map(some).join(' AND ')})`).join(' OR ')})`);
  }
  if (query.geo) where.push(compileGeo(query.geo, sql, sideTables));
  return { filter: where.join(' AND '), params: sql.values };
}
