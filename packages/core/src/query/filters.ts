/**
 * The filters an entity query and a subscription share (q, scopeQ, geoQ),
 * parsed and bound to the @context that expands their names.
 */
import type { ActiveContext } from '../jsonld/activeContext';
import { GeoQuery, GeoQueryInput, parseGeoQuery } from './geoQuery';
import { parseQ, QExpression } from './q';
import { parseScopeQuery, scopePattern } from './typeExpression';

export interface FilterText {
  q?: string;
  scopeQ?: string;
  geoQ?: GeoQueryInput;
}

export interface CompiledFilters {
  q?: { expression: QExpression; expand: (name: string) => string };
  /** OR of ANDs of regular expressions on scopes. */
  scopes?: string[][];
  geo?: GeoQuery & { propertyIri: string };
}

export function compileFilters(text: FilterText, ctx: ActiveContext): CompiledFilters {
  const out: CompiledFilters = {};
  if (text.q !== undefined) out.q = { expression: parseQ(text.q), expand: (name) => ctx.expandTerm(name) };
  if (text.scopeQ !== undefined) out.scopes = parseScopeQuery(text.scopeQ).map((all) => all.map(scopePattern));
  if (text.geoQ !== undefined) {
    const geo = parseGeoQuery(text.geoQ);
    if (geo) out.geo = { ...geo, propertyIri: ctx.expandTerm(geo.property) };
  }
  return out;
}
