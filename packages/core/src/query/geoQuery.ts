/**
 * Geo-query parameters (4.10, 5.2.13): georel, geometry, coordinates,
 * geoproperty -> a validated GeoQuery, or BadRequestData saying what is
 * wrong.
 */
import { badRequest } from '../errors';
import { geometryError, Geometry } from '../model/geojson';

export type GeoRelation = 'near' | 'within' | 'contains' | 'intersects' | 'equals' | 'disjoint' | 'overlaps';

export interface GeoQuery {
  relation: GeoRelation;
  /** For near: at most / at least this many metres away. */
  maxDistance?: number;
  minDistance?: number;
  geometry: Geometry;
  /** The GeoProperty to test, as given (short name); `location` when absent. */
  property: string;
}

const RELATIONS: GeoRelation[] = ['near', 'within', 'contains', 'intersects', 'equals', 'disjoint', 'overlaps'];
const QUERY_GEOMETRIES = ['Point', 'MultiPoint', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon'];

export interface GeoQueryInput {
  georel?: string;
  geometry?: string;
  /** JSON text (URL parameter) or already an array (subscriptions). */
  coordinates?: string | unknown[];
  geoproperty?: string;
}

/** undefined when no geo parameter is given; all three of georel, geometry and coordinates go together. */
export function parseGeoQuery(input: GeoQueryInput): GeoQuery | undefined {
  const { georel, geometry, coordinates, geoproperty } = input;
  if (georel === undefined && geometry === undefined && coordinates === undefined) {
    if (geoproperty !== undefined) throw badRequest('geoproperty needs georel, geometry and coordinates');
    return undefined;
  }
  if (georel === undefined || geometry === undefined || coordinates === undefined) {
    throw badRequest('A geo-query needs georel, geometry and coordinates together');
  }
  if (typeof georel !== 'string' || typeof geometry !== 'string' || (geoproperty !== undefined && typeof geoproperty !== 'string')) {
    throw badRequest('georel, geometry and geoproperty are strings');
  }
  if (!QUERY_GEOMETRIES.includes(geometry)) throw badRequest(`geometry must be one of ${QUERY_GEOMETRIES.join(', ')}`);
  let coords: unknown = coordinates;
  if (typeof coordinates === 'string') {
    try {
      coords = JSON.parse(coordinates);
    } catch {
      throw badRequest('coordinates must be GeoJSON coordinates written as JSON, e.g. [8.5,47.3]');
    }
  }
  const shape = { type: geometry, coordinates: coords } as Geometry;
  const error = geometryError(shape, false);
  if (error) throw badRequest(`coordinates: ${error}`);
  return { ...parseRelation(georel), geometry: shape, property: geoproperty ?? 'location' };
}

function parseRelation(georel: string): Pick<GeoQuery, 'relation' | 'maxDistance' | 'minDistance'> {
  const [name, ...modifiers] = georel.split(';');
  if (!RELATIONS.includes(name as GeoRelation)) throw badRequest(`Unknown georel ${JSON.stringify(name)}; expected one of ${RELATIONS.join(', ')}`);
  const relation = name as GeoRelation;
  if (relation !== 'near') {
    if (modifiers.length > 0) throw badRequest(`georel ${relation} takes no distance`);
    return { relation };
  }
  if (modifiers.length !== 1) throw badRequest('near needs exactly one of maxDistance==<metres> or minDistance==<metres>');
  const m = /^(maxDistance|minDistance)==(\d+(\.\d+)?)$/.exec(modifiers[0]);
  if (!m || Number(m[2]) <= 0) throw badRequest('near needs maxDistance==<metres> or minDistance==<metres>, a number above 0');
  return m[1] === 'maxDistance' ? { relation, maxDistance: Number(m[2]) } : { relation, minDistance: Number(m[2]) };
}
