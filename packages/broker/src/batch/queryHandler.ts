/**
 * POST /entityOperations/query (5.7.2 with a ParamSource body, 5.2.23): the same
 * query as GET /entities, its selectors in the body, paging and
 * representation in the URL.
 */
import { badRequest, compileFilters, GeoQueryInput, isUri, parseOrdering, parseTypeExpression } from '@civitas/core';
import type { EntityQuery } from '@civitas/store';
import type { BrokerDeps } from '../deps';
import { ngsiHandler, NgsiRequest } from '../http/pipeline';
import { ParamSource, list, page, param, renderOptions } from '../http/params';
import { answerQuery, checkContextSourceFilter, requireNarrowing } from '../entities/queryEntities';

type Body = Record<string, unknown>;

export const queryHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, geo: true, params: ['limit', 'offset', 'count', 'options', 'format', 'lang', 'geometryProperty', 'local', 'join', 'joinLevel'] }, async (ngsi, req, res) => {
    const body = ngsi.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('The body must be a ParamSource object');
    const q = body as Body;
    if (q.type !== 'Query') throw badRequest('A ParamSource body has "type": "Query"');
    // 5.2.23: temporalQ belongs to the temporal query (5.7.4), never to this one.
    if (q.temporalQ !== undefined) throw badRequest('temporalQ is only for POST /temporal/entityOperations/query');
    // URL parameters that a ParamSource may carry as members, merged into the URL's; the body's win.
    const params: ParamSource = { ...req.query };
    for (const key of ['pick', 'omit', 'lang', 'expandValues', 'jsonKeys', 'csf', 'join', 'joinLevel'] as const) {
      const v = q[key];
      if (v === undefined) continue;
      if (key === 'joinLevel' && typeof v === 'number') params[key] = String(v);
      else if (typeof v === 'string') params[key] = v;
      else if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) params[key] = v.join(',');
      else throw badRequest(`${key} must be a string or a non-empty array of strings`);
    }
    const query: EntityQuery = { ...selection(q, ngsi, params), ...page(req.query, deps.config.defaultLimit, deps.config.maxLimit) };
    checkContextSourceFilter(param(params, 'csf'));
    requireNarrowing(query, ngsi.ctx);
    if (q.attrs !== undefined) params.attrs = (query.attrs ?? []).map((a) => ngsi.ctx.compactIri(a)).join(',');
    await answerQuery(deps, ngsi, req, res, query, renderOptions(params, ngsi.ctx, ngsi.accept), params);
  });

function selection(q: Body, ngsi: NgsiRequest, params: ParamSource): Omit<EntityQuery, 'limit' | 'offset'> {
  const out: Omit<EntityQuery, 'limit' | 'offset'> = {};
  if (q.entities !== undefined) {
    if (!Array.isArray(q.entities) || q.entities.length === 0) throw badRequest('entities must be a non-empty array of entity selectors');
    // An entity selector (5.2.33): a type (mandatory), and an id (one or a list, taking precedence) or an idPattern.
    out.anyOf = q.entities.flatMap((raw): NonNullable<EntityQuery['anyOf']> => {
      if (typeof raw !== 'object' || raw === null) throw badRequest('Every entity selector must be an object');
      const { id, idPattern, type } = raw as Body;
      const ids = id === undefined ? undefined : Array.isArray(id) ? id : [id];
      if (ids && (ids.length === 0 || !ids.every(isUri))) throw badRequest('An entity selector id must be a URI or a non-empty list of URIs');
      if (idPattern !== undefined && typeof idPattern !== 'string') throw badRequest('idPattern must be a string');
      if (typeof type !== 'string') throw badRequest('An entity selector needs a type, as a string');
      const types = parseTypeExpression(type).map((all) => all.map((t) => ngsi.ctx.expandTerm(t)));
      if (ids) return ids.map((one) => ({ id: one as string, types }));
      return [{ idPattern: idPattern as string | undefined, types }];
    });
  }
  if (q.attrs !== undefined) {
    if (!Array.isArray(q.attrs) || q.attrs.length === 0 || !q.attrs.every((a) => typeof a === 'string')) {
      throw badRequest('attrs must be a non-empty array of attribute names');
    }
    out.attrs = (q.attrs as string[]).map((a) => ngsi.ctx.expandTerm(a));
  }
  if (q.q !== undefined && typeof q.q !== 'string') throw badRequest('q must be a string');
  if (q.scopeQ !== undefined && typeof q.scopeQ !== 'string') throw badRequest('scopeQ must be a string');
  let geoQ: GeoQueryInput | undefined;
  if (q.geoQ !== undefined) {
    if (typeof q.geoQ !== 'object' || q.geoQ === null) throw badRequest('geoQ must be an object');
    const g = q.geoQ as Body;
    geoQ = {
      georel: g.georel as string | undefined,
      geometry: g.geometry as string | undefined,
      coordinates: g.coordinates as string | unknown[] | undefined,
      geoproperty: g.geoproperty as string | undefined,
    };
  }
  const filters = { q: q.q as string | undefined, scopeQ: q.scopeQ as string | undefined, geoQ, expandValues: list(params, 'expandValues'), jsonKeys: list(params, 'jsonKeys') };
  Object.assign(out, compileFilters(filters, ngsi.ctx));
  if (q.ordering !== undefined) {
    // OrderingParams (5.2.43): the URL's orderBy / orderFrom / orderGeometry / collation as JSON members.
    if (typeof q.ordering !== 'object' || q.ordering === null || Array.isArray(q.ordering)) throw badRequest('ordering must be an object');
    const o = q.ordering as Body;
    const ordering = parseOrdering({ orderBy: o.orderBy as string | string[] | undefined, orderFrom: o.coordinates, orderGeometry: o.geometry, collation: o.collation }, ngsi.ctx);
    if (ordering) out.ordering = ordering;
  }
  return out;
}
