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

export function compileGeo(geo: GeoQuery & { propertyIri: string }, params: SqlParams, tenantParam: string): string {
  const shape = `ST_SetSRID(ST_GeomFromGeoJSON(${params.add(JSON.stringify(geo.geometry))}), 4326)`;
  let predicate: string;
  if (geo.relation === 'near') {
    const within = `ST_DWithin(g.geom::geography, ${shape}::geography, ${params.add(geo.maxDistance ?? geo.minDistance)}::float8)`;
    predicate = geo.maxDistance !== undefined ? within : `NOT ${within}`;
  } else {
    predicate = `${TOPOLOGY[geo.relation]}(g.geom, ${shape})`;
  }
  // One matching instance of the GeoProperty is enough; entities without it never match.
  return `id IN (SELECT g.entity_id FROM entity_geo g WHERE g.tenant = ${tenantParam} AND g.attr = ${params.add(geo.propertyIri)} AND ${predicate})`;
}
