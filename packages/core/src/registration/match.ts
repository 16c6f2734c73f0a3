/**
 * Which registrations a registration query selects (5.10.2.4, 5.12), and
 * which registrations overlap (4.3.6.3). Geo-queries and csf are judged in
 * SQL on the documents `registrationAttributes` gives; the rest here.
 */
import type { AttributeInstance, AttributeMap } from '../model/entity';
import type { TemporalWindow } from '../temporal/params';
import { scopeMatches } from '../query/typeExpression';
import type { Subscription } from '../subscription/subscription';
import { EntityInfo, REGISTRATION_GEO_MEMBERS, Registration, RegistrationInfo } from './registration';

const CORE = 'https://uri.etsi.org/ngsi-ld/';
const SCALAR_MEMBERS = ['endpoint', 'registrationName', 'description', 'mode', 'contextSourceAlias', 'tenant', 'refreshRate', 'expiresAt'] as const;

export interface RegistrationQuery {
  ids?: string[];
  idPattern?: string;
  /** Expanded types as an OR of ANDs. */
  types?: string[][];
  /** Expanded attribute names (attrs, and those q and the geo-query name). */
  attrs?: string[];
  time?: TemporalWindow;
  /** scopeQ patterns (OR of ANDs). */
  scopes?: string[][];
  /** Registrations of any time, those with intervals included, even without a temporal query (subscriptions). */
  anyTime?: boolean;
}

export function matchesRegistrationQuery(r: Registration, q: RegistrationQuery): boolean {
  if (!r.information.some((info) => entitiesMatch(info, q) && attributesMatch(info, q.attrs))) return false;
  if (q.scopes && !scopeMatches(r.scope ?? [], q.scopes)) return false;
  // Without a temporal query, only sources of latest information; with one, only sources of history (5.10.2.4).
  if (!q.time) return q.anyTime === true || (!r.observationInterval && !r.managementInterval);
  const interval = q.time.timeproperty === 'observedAt' ? r.observationInterval : r.managementInterval;
  if (!interval) return false;
  // The source can answer when the period asked for overlaps the interval it holds.
  const start = Date.parse(interval.startAt);
  const end = interval.endAt ? Date.parse(interval.endAt) : Infinity;
  const at = Date.parse(q.time.timeAt);
  if (q.time.timerel === 'before') return start < at;
  if (q.time.timerel === 'after') return end >= at;
  return at <= end && Date.parse(q.time.endTimeAt!) >= start;
}

function entitiesMatch(info: RegistrationInfo, q: RegistrationQuery): boolean {
  if (!q.types && !q.ids && q.idPattern === undefined) return true;
  // A RegistrationInfo without entities may hold any.
  if (!info.entities) return true;
  return info.entities.some((e) => typesMatch(e, q.types) && idsMatch(e, q));
}

function typesMatch(e: EntityInfo, types: string[][] | undefined): boolean {
  return !types || types.some((all) => all.every((t) => e.types.includes(t)));
}

function idsMatch(e: EntityInfo, q: RegistrationQuery): boolean {
  if (q.ids) {
    if (e.id !== undefined) return q.ids.includes(e.id);
    if (e.idPattern !== undefined) return q.ids.some((id) => new RegExp(e.idPattern!).test(id));
    return true;
  }
  if (q.idPattern !== undefined && e.id !== undefined) return new RegExp(q.idPattern).test(e.id);
  // Two patterns, or a type-only EntityInfo, may always hold some entity of both.
  return true;
}

function attributesMatch(info: RegistrationInfo, attrs: string[] | undefined): boolean {
  if (!attrs) return true;
  const names = [...(info.propertyNames ?? []), ...(info.relationshipNames ?? [])];
  return names.length === 0 || attrs.some((a) => names.includes(a));
}

/**
 * Whether two registrations may provide the same attribute of the same entity
 * (4.3.6.3): some of their RegistrationInfos cover a common entity id and
 * share an attribute, or one of them names no attribute.
 */
export function registrationsOverlap(a: Registration, b: Registration): boolean {
  return a.information.some((x) =>
    b.information.some((y) => {
      const sameEntity = (x.entities ?? []).some((ex) =>
        (y.entities ?? []).some((ey) => ex.types.some((t) => ey.types.includes(t)) && (ex.id === undefined || ey.id === undefined || ex.id === ey.id)),
      );
      const xs = [...(x.propertyNames ?? []), ...(x.relationshipNames ?? [])];
      const ys = [...(y.propertyNames ?? []), ...(y.relationshipNames ?? [])];
      return sameEntity && (xs.length === 0 || ys.length === 0 || xs.some((n) => ys.includes(n)));
    }),
  );
}

/**
 * The registration as a document of attributes, for the SQL that judges
 * csf (on its Context Source Properties) and geo-queries (on location,
 * observationSpace and operationSpace).
 */
export function registrationAttributes(r: Registration): AttributeMap {
  const attrs: AttributeMap = {};
  // The registration's own members are properties of the source too (csf=endpoint==..., csf=mode==...).
  for (const member of SCALAR_MEMBERS) {
    const value = r[member];
    if (value !== undefined) attrs[CORE + member] = [{ type: 'Property', value }];
  }
  for (const [iri, value] of Object.entries(r.properties ?? {})) attrs[iri] = [asInstance(value)];
  for (const member of REGISTRATION_GEO_MEMBERS) {
    const geometry = r[member];
    if (geometry) attrs[CORE + member] = [{ type: 'GeoProperty', value: geometry as unknown as AttributeInstance['value'] }];
  }
  return attrs;
}

/** A Context Source Property as given: an attribute object, or a bare value of a Property. */
function asInstance(value: unknown): AttributeInstance {
  const v = value as Record<string, unknown>;
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v.type === 'string' && ('value' in v || 'object' in v)) {
    return v.type === 'Relationship' ? { type: 'Relationship', object: v.object as string } : { type: 'Property', value: v.value as AttributeInstance['value'] };
  }
  return { type: 'Property', value: value as AttributeInstance['value'] };
}

/**
 * Whether a subscription to registrations (5.11) concerns a registration:
 * one of its entity selectors, with its watched attributes, meets the
 * registration's information.
 */
export function subscriptionConcerns(s: Subscription, r: Registration): boolean {
  const attrs = s.watchedAttributes;
  if (!s.entities) return matchesRegistrationQuery(r, { attrs, anyTime: true });
  return s.entities.some((e) => matchesRegistrationQuery(r, { types: e.types, ids: e.id ? [e.id] : undefined, idPattern: e.idPattern, attrs, anyTime: true }));
}
