/**
 * Entity ordering (4.23): `orderBy`, `orderFrom`, `orderGeometry` and
 * `collation` (URL parameters of a query, or the `ordering` member of a
 * Query, 5.2.43) -> sort keys. Attribute names stay short here and are
 * expanded by whoever compiles the keys, with the request's @context.
 */
import { badRequest } from '../errors';
import type { ActiveContext } from '../jsonld/activeContext';
import { Geometry, geometryError } from '../model/geojson';
import { parseAttributePath, QPath } from './q';

/** Entity members that order by themselves rather than by an attribute. */
export type OrderMember = 'id' | 'type' | 'scope' | 'createdAt' | 'modifiedAt';

export type OrderKey =
  | { kind: 'member'; member: OrderMember; descending: boolean }
  /** By the value (or metadata, or a compound member) of the first instance of an attribute. */
  | { kind: 'value'; path: QPath; descending: boolean }
  /** By spherical distance of a GeoProperty from `Ordering.from`. */
  | { kind: 'distance'; attribute: string; descending: boolean };

export interface Ordering {
  keys: OrderKey[];
  /** The reference geometry of distance keys. */
  from?: Geometry;
  /** A BCP 47 tag (canonical form) of the ICU collation strings compare with; ICU root (`und`) when absent. */
  collation?: string;
  expand: (name: string) => string;
}

export interface OrderingInput {
  /** Comma-separated (URL) or a list of items (a Query's `ordering`). */
  orderBy?: string | string[];
  /** GeoJSON coordinates: JSON text (URL) or the array itself (a Query's `coordinates`). */
  orderFrom?: unknown;
  orderGeometry?: unknown;
  collation?: unknown;
}

const MEMBERS: ReadonlySet<string> = new Set<OrderMember>(['id', 'type', 'scope', 'createdAt', 'modifiedAt']);
const DIRECTIONS = ['asc', 'desc', 'dist-asc', 'dist-desc'];

/** undefined when nothing asks for an order; BadRequestData for anything that cannot be honoured. */
export function parseOrdering(input: OrderingInput, ctx: ActiveContext): Ordering | undefined {
  const { orderBy, orderFrom, orderGeometry, collation } = input;
  if (orderBy === undefined) {
    if (orderFrom !== undefined || orderGeometry !== undefined || collation !== undefined) {
      throw badRequest('orderFrom, orderGeometry and collation need orderBy');
    }
    return undefined;
  }
  const items = typeof orderBy === 'string' ? orderBy.split(',') : orderBy;
  if (!Array.isArray(items) || items.length === 0 || !items.every((i) => typeof i === 'string' && i !== '')) {
    throw badRequest('orderBy must name at least one attribute');
  }
  const ordering: Ordering = { keys: items.map(orderKey), expand: (name) => ctx.expandTerm(name) };
  if (collation !== undefined) ordering.collation = collationTag(collation);
  const byDistance = ordering.keys.some((k) => k.kind === 'distance');
  if (byDistance) ordering.from = referenceGeometry(orderFrom, orderGeometry);
  else if (orderFrom !== undefined || orderGeometry !== undefined) referenceGeometry(orderFrom, orderGeometry);
  return ordering;
}

/** One item: `path[;asc|;desc|;dist-asc|;dist-desc]`. */
function orderKey(item: string): OrderKey {
  const [path, direction = 'asc', ...rest] = item.trim().split(';');
  if (rest.length > 0 || !DIRECTIONS.includes(direction)) {
    throw badRequest(`orderBy: ${JSON.stringify(item)} is not path, or path;asc|desc|dist-asc|dist-desc`);
  }
  const descending = direction.endsWith('desc');
  if (MEMBERS.has(path)) {
    if (direction.startsWith('dist')) throw badRequest(`orderBy: ${path} is not a GeoProperty to order by distance`);
    return { kind: 'member', member: path as OrderMember, descending };
  }
  const parsed = parseAttributePath(path, 'orderBy path');
  if (direction.startsWith('dist')) {
    if (parsed.members.length > 0 || parsed.compound.length > 0) throw badRequest(`orderBy: distance orders by a GeoProperty, not by ${JSON.stringify(path)}`);
    return { kind: 'distance', attribute: parsed.attribute, descending };
  }
  return { kind: 'value', path: parsed, descending };
}

function referenceGeometry(coordinates: unknown, geometry: unknown): Geometry {
  if (coordinates === undefined) throw badRequest('Ordering by distance needs the coordinates of the reference geometry (orderFrom)');
  if (geometry !== undefined && typeof geometry !== 'string') throw badRequest('The geometry of an ordering is a GeoJSON geometry type name');
  let coords = coordinates;
  if (typeof coordinates === 'string') {
    try {
      coords = JSON.parse(coordinates);
    } catch {
      throw badRequest('orderFrom must be GeoJSON coordinates written as JSON, e.g. [8,40]');
    }
  }
  if (!Array.isArray(coords)) throw badRequest('The coordinates of an ordering must be a GeoJSON coordinates array');
  const shape = { type: geometry ?? 'Point', coordinates: coords } as Geometry;
  const error = geometryError(shape, false);
  if (error) throw badRequest(`orderFrom: ${error}`);
  return shape;
}

/** A BCP 47 language tag with its ICU extensions (RFC 6067), in canonical form, of a language ICU knows (or `und`, the root). */
function collationTag(value: unknown): string {
  if (typeof value !== 'string') throw badRequest('collation must be a BCP 47 language tag');
  let tag: string;
  try {
    tag = Intl.getCanonicalLocales(value)[0];
  } catch {
    throw badRequest(`collation: ${JSON.stringify(value)} is not a BCP 47 language tag`);
  }
  // The root locale has no language of its own (`und`, which Intl.Locale reports as none).
  const language = new Intl.Locale(tag).language ?? 'und';
  if (language !== 'und' && Intl.Collator.supportedLocalesOf([tag]).length === 0) {
    throw badRequest(`collation: ICU has no collation for the language of ${tag}`);
  }
  return tag;
}
