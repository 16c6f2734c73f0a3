/**
 * GeoJSON geometry validation (RFC 7946), for GeoProperty values and
 * geo-query parameters. A geometry that passes here is safe to hand to
 * PostGIS `ST_GeomFromGeoJSON`.
 */

export const GEOMETRY_TYPES = [
  'Point',
  'MultiPoint',
  'LineString',
  'MultiLineString',
  'Polygon',
  'MultiPolygon',
  'GeometryCollection',
] as const;
export type GeometryType = (typeof GEOMETRY_TYPES)[number];

export interface Geometry {
  type: GeometryType;
  coordinates?: unknown;
  geometries?: Geometry[];
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function positionError(p: unknown): string | undefined {
  if (!Array.isArray(p) || p.length < 2 || p.length > 3 || !p.every(isNumber)) return 'a position must be an array of 2 or 3 numbers';
  const [lon, lat] = p as number[];
  if (lon < -180 || lon > 180) return `longitude ${lon} is out of range [-180, 180]`;
  if (lat < -90 || lat > 90) return `latitude ${lat} is out of range [-90, 90]`;
  return undefined;
}

function positionsError(ps: unknown, min: number): string | undefined {
  if (!Array.isArray(ps) || ps.length < min) return `expected an array of at least ${min} positions`;
  for (const p of ps) {
    const e = positionError(p);
    if (e) return e;
  }
  return undefined;
}

function ringError(ring: unknown): string | undefined {
  const e = positionsError(ring, 4);
  if (e) return `a linear ring needs at least 4 positions: ${e}`;
  const r = ring as number[][];
  const first = r[0];
  const last = r[r.length - 1];
  if (first[0] !== last[0] || first[1] !== last[1]) return 'a linear ring must end where it starts';
  return undefined;
}

function everyError(items: unknown, check: (x: unknown) => string | undefined, min = 1): string | undefined {
  if (!Array.isArray(items) || items.length < min) return `expected an array of at least ${min} element(s)`;
  for (const x of items) {
    const e = check(x);
    if (e) return e;
  }
  return undefined;
}

const coordinateChecks: Record<Exclude<GeometryType, 'GeometryCollection'>, (c: unknown) => string | undefined> = {
  Point: positionError,
  MultiPoint: (c) => positionsError(c, 1),
  LineString: (c) => positionsError(c, 2),
  MultiLineString: (c) => everyError(c, (l) => positionsError(l, 2)),
  Polygon: (c) => everyError(c, ringError),
  MultiPolygon: (c) => everyError(c, (p) => everyError(p, ringError)),
};

/** Why a value is not a valid GeoJSON geometry, or undefined when it is one. */
export function geometryError(value: unknown, allowCollection = true): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'a geometry must be a GeoJSON object';
  const g = value as Record<string, unknown>;
  if (g.type === 'GeometryCollection') {
    if (!allowCollection) return 'GeometryCollection is not allowed here';
    return everyError(g.geometries, (x) => geometryError(x, true), 0);
  }
  const check = coordinateChecks[g.type as keyof typeof coordinateChecks];
  if (!check) return `unknown geometry type ${JSON.stringify(g.type)}`;
  const e = check(g.coordinates);
  return e ? `invalid ${g.type as string} coordinates: ${e}` : undefined;
}
