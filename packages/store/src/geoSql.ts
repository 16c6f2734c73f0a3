/**
 * Geo-query -> SQL (4.10): a look-up in entity_geo, where the spatial
 * indexes live. Distances are metres on the sphere (geography); the
 * topological relations compare geometries.
 */
import type { GeoQuery } from '@civitas/core';
import type { SqlParams } from './qSql';

const TOPOLOGY: Record<string, string> = {
  within: 'ST_Within',
  contains: 'ST_Contains',
  intersects: 'ST_Intersects',
  equals: 'ST_Equals',
  disjoint: 'ST_Disjoint',
  overlaps: 'ST_Overlaps',
};

/**
 * With `tenantParam` the geometries come from entity_geo and its index;
 * without it, from the attrs document itself (rows that are not stored
 * entities, such as the states the outbox recorded).
 */
export function compileGeo(geo: GeoQuery & { propertyIri: string }, params: SqlParams, tenantParam: string | undefined): string {
  const shape = `ST_SetSRID(ST_GeomFromGeoJSON(${params.add(JSON.stringify(geo.geometry))}), 4326)`;
  const predicate = (geom: string) => {
    if (geo.relation !== 'near') return `${TOPOLOGY[geo.relation]}(${geom}, ${shape})`;
    const within = `ST_DWithin(${geom}::geography, ${shape}::geography, ${params.add(geo.maxDistance ?? geo.minDistance)}::float8)`;
    return geo.maxDistance !== undefined ? within : `NOT ${within}`;
  };
  const attr = params.add(geo.propertyIri);
  // One matching instance of the GeoProperty is enough; entities without it never match.
  if (tenantParam === undefined) {
    return `EXISTS (SELECT 1 FROM jsonb_array_elements(attrs -> ${attr}) AS gi WHERE gi ->> 'type' = 'GeoProperty'
      AND ${predicate(`ST_SetSRID(ST_GeomFromGeoJSON(gi ->> 'value'), 4326)`)})`;
  }
  return `id IN (SELECT g.entity_id FROM entity_geo g WHERE g.tenant = ${tenantParam} AND g.attr = ${attr} AND ${predicate('g.geom')})`;
}
