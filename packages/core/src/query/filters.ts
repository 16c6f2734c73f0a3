/**
 * The filters an entity query and a subscription share (q, scopeQ, geoQ),
 * parsed and bound to the @context that expands their names.
 */
import type { ActiveContext } from '../jsonld/activeContext';
import { GeoQuery, GeoQueryInput, parseGeoQuery } from './geoQuery';
import { parseQ, QExpression, QScalar, QValue } from './q';
import { parseScopeQuery, scopePattern } from './typeExpression';

export interface FilterText {
  q?: string;
  scopeQ?: string;
  geoQ?: GeoQueryInput;
  /** Attributes whose q values are terms to expand with the @context before comparing (4.9, EXAMPLE 12). */
  expandValues?: string[];
  /** Attributes whose values are raw JSON: the member names of q paths into them are not expanded (4.9, EXAMPLE 11). */
  jsonKeys?: string[];
}

export interface CompiledFilters {
  q?: { expression: QExpression; expand: (name: string) => string };
  /** OR of ANDs of regular expressions on scopes. */
  scopes?: string[][];
  geo?: GeoQuery & { propertyIri: string };
}

export function compileFilters(text: FilterText, ctx: ActiveContext): CompiledFilters {
  const out: CompiledFilters = {};
  if (text.q !== undefined) {
    const expandValues = new Set(text.expandValues ?? []);
    const jsonKeys = new Set(text.jsonKeys ?? []);
    const expression = mapTerms(parseQ(text.q), (term) => {
      if (term.kind === 'term' && expandValues.has(term.path.attribute)) term = { ...term, value: mapScalars(term.value, (v) => (v.kind === 'string' ? { ...v, value: ctx.expandTerm(v.value) } : v)) };
      if (jsonKeys.has(term.path.attribute)) term = { ...term, path: { ...term.path, jsonKeys: true } };
      return term;
    });
    out.q = { expression, expand: (name) => ctx.expandTerm(name) };
  }
  if (text.scopeQ !== undefined) out.scopes = parseScopeQuery(text.scopeQ).map((all) => all.map(scopePattern));
  if (text.geoQ !== undefined) {
    const geo = parseGeoQuery(text.geoQ);
    if (geo) out.geo = { ...geo, propertyIri: ctx.expandTerm(geo.property) };
  }
  return out;
}

type QTerm = Extract<QExpression, { kind: 'term' | 'exists' }>;

function mapTerms(expression: QExpression, fn: (term: QTerm) => QTerm): QExpression {
  return expression.kind === 'and' || expression.kind === 'or' ? { ...expression, terms: expression.terms.map((t) => mapTerms(t, fn)) } : fn(expression);
}

function mapScalars(value: QValue, fn: (scalar: QScalar) => QScalar): QValue {
  if (value.kind === 'range') return { ...value, min: fn(value.min), max: fn(value.max) };
  if (value.kind === 'list') return { ...value, items: value.items.map(fn) };
  return fn(value);
}
