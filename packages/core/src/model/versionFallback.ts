/**
 * Backwards compatibility of Entity data (4.3.6.8): a consumer preferring an
 * earlier NGSI-LD version (`Prefer: ngsi-ld=1.5`) receives entities amended
 * to what that version could express: newer attribute kinds reformatted as
 * the Property or Relationship they specialise, newer members removed.
 */

/** The version this broker answers in when a consumer names none or a later one. */
export const NATIVE_VERSION = '1.9';

/** The `ngsi-ld` preference of a Prefer header (RFC 7240: any case, quoted or not, among others, with parameters), as major.minor. */
export function preferredVersion(prefer: string | string[] | undefined): string | undefined {
  const text = Array.isArray(prefer) ? prefer.join(',') : prefer;
  if (!text) return undefined;
  for (const preference of text.split(',')) {
    const [head] = preference.split(';');
    const eq = head.indexOf('=');
    if (eq < 0 || head.slice(0, eq).trim().toLowerCase() !== 'ngsi-ld') continue;
    const value = head.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (!/^\d+\.\d+$/.test(value)) return undefined;
    return before(value, NATIVE_VERSION) ? value : NATIVE_VERSION;
  }
  return undefined;
}

/** `a` is an earlier major.minor than `b`. */
function before(a: string, b: string): boolean {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am < bm || (am === bm && an < bn);
}

type Json = Record<string, unknown>;

/** Subclasses introduced after a version, and the member holding what becomes their value or object. */
const RECAST: Array<{ since: string; type: string; as: 'Property' | 'Relationship'; from: string }> = [
  { since: '1.4', type: 'LanguageProperty', as: 'Property', from: 'languageMap' },
  { since: '1.8', type: 'VocabProperty', as: 'Property', from: 'vocab' },
  { since: '1.8', type: 'JsonProperty', as: 'Property', from: 'json' },
  { since: '1.8', type: 'ListProperty', as: 'Property', from: 'valueList' },
  { since: '1.8', type: 'ListRelationship', as: 'Relationship', from: 'objectList' },
];

/** Attribute members introduced after a version. */
const MEMBERS: Array<{ since: string; name: string }> = [
  { since: '1.3', name: 'datasetId' },
  { since: '1.3', name: 'observedAt' },
  { since: '1.3', name: 'unitCode' },
  { since: '1.8', name: 'objectType' },
  { since: '1.9', name: 'expiresAt' },
  { since: '1.9', name: 'valueType' },
];

/** Members holding an attribute's content: data of the user's, never attributes to amend, and shared with the stored entity. */
const CONTENT = new Set(['value', 'object', 'json', 'languageMap', 'valueList', 'objectList', 'vocab']);

const isAttribute = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as Json).type === 'string';

/** Amends one attribute (and its sub-attributes) in place; true when anything changed. */
function amendAttribute(attr: Json, version: string): boolean {
  let altered = false;
  for (const r of RECAST) {
    if (attr.type === r.type && before(version, r.since)) {
      const content = attr[r.from];
      delete attr[r.from];
      attr.type = r.as;
      attr[r.as === 'Property' ? 'value' : 'object'] = content;
      altered = true;
    }
  }
  for (const m of MEMBERS) {
    if (m.name in attr && before(version, m.since)) {
      delete attr[m.name];
      altered = true;
    }
  }
  for (const [key, sub] of Object.entries(attr)) {
    if (!CONTENT.has(key) && isAttribute(sub)) altered = amendAttribute(sub, version) || altered;
  }
  return altered;
}

/**
 * Amends a normalized entity in place to what `version` can express;
 * true when anything changed (the response is then 203).
 */
export function amendEntityForVersion(entity: Json, version: string): boolean {
  let altered = false;
  if ('expiresAt' in entity && before(version, '1.9')) {
    delete entity.expiresAt;
    altered = true;
  }
  if ('scope' in entity && before(version, '1.4')) {
    delete entity.scope;
    altered = true;
  }
  const old = before(version, '1.3');
  if (old && Array.isArray(entity.type)) {
    entity.type = entity.type[0];
    altered = true;
  }
  for (const [key, value] of Object.entries(entity)) {
    if (key === 'id' || key === 'type' || key === '@context') continue;
    if (Array.isArray(value) && value.every(isAttribute)) {
      if (old && value.length > 0) {
        // Before 1.3 an attribute had one instance: the default one, else the first.
        entity[key] = value.find((i) => !('datasetId' in i)) ?? value[0];
        altered = true;
        altered = amendAttribute(entity[key] as Json, version) || altered;
      } else {
        for (const i of value) altered = amendAttribute(i, version) || altered;
      }
    } else if (isAttribute(value)) {
      altered = amendAttribute(value, version) || altered;
    }
  }
  return altered;
}
