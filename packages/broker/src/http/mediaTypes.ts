/**
 * Content negotiation (6.3.4, 6.3.6): which request bodies are accepted and
 * which representation a response takes.
 */
import { NgsiError } from '@civitas/core';

export const JSON_TYPE = 'application/json';
export const LD_JSON = 'application/ld+json';
export const GEO_JSON = 'application/geo+json';
export const MERGE_PATCH = 'application/merge-patch+json';

export type ResponseType = typeof JSON_TYPE | typeof LD_JSON | typeof GEO_JSON;

/** In the order NGSI-LD prefers them when an Accept header matches several equally. */
const SUPPORTED: ResponseType[] = [JSON_TYPE, LD_JSON, GEO_JSON];

interface AcceptEntry {
  type: string;
  q: number;
}

function parseAccept(header: string): AcceptEntry[] {
  return header
    .split(',')
    .map((part) => {
      const [type, ...params] = part.trim().split(';');
      const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      // A weight that is no qvalue (RFC 9110 12.4.2) is ignored: the range keeps the default weight.
      const q = qParam && /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(qParam.slice(2)) ? Number(qParam.slice(2)) : 1;
      return { type: type.trim().toLowerCase(), q };
    })
    .filter((e) => e.type.length > 0);
}

function matches(range: string, type: string): boolean {
  if (range === '*/*' || range === type) return true;
  return range.endsWith('/*') && type.startsWith(range.slice(0, -1));
}

/**
 * The response media type for an Accept header. `geo` says whether the
 * endpoint can answer GeoJSON (only entity retrieval and query can).
 */
export function negotiate(accept: string | undefined, geo: boolean): ResponseType {
  if (!accept || accept.trim() === '') return JSON_TYPE;
  const ranges = parseAccept(accept);
  let best: ResponseType | undefined;
  let bestQ = 0;
  for (const type of SUPPORTED) {
    if (type === GEO_JSON && !geo) continue;
    // The most specific range that covers the type decides its weight.
    const covering = ranges.filter((r) => matches(r.type, type)).sort((a, b) => specificity(b.type) - specificity(a.type));
    const q = covering.length > 0 ? covering[0].q : 0;
    if (q > bestQ) {
      best = type;
      bestQ = q;
    }
  }
  if (!best) {
    throw new NgsiError('NotAcceptable', `None of the accepted media types can be produced; available: ${SUPPORTED.filter((t) => geo || t !== GEO_JSON).join(', ')}`);
  }
  return best;
}

const specificity = (range: string): number => (range === '*/*' ? 0 : range.endsWith('/*') ? 1 : 2);

/** The request body's media type without parameters, lower case; undefined when absent. */
export function bodyType(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0].trim().toLowerCase() || undefined;
}
