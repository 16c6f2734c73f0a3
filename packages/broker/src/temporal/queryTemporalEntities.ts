/**
 * GET /temporal/entities and POST /temporal/entityOperations/query (5.7.4):
 * the history of the entities a query selects, a page of entities at a time.
 */
import type { Request, Response } from 'express';
import { badRequest, parseTypeExpression } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler, NgsiRequest } from '../http/pipeline';
import { allowOnly, list, page, param } from '../http/params';
import { paginationLinks } from '../http/respond';
import { requireTenant } from '../entities/shared';
import { applyEntityFilters, renderHistory, sendHistory, TEMPORAL_PARAMS, temporalRequest } from './temporalRequest';

const PAGE_PARAMS = ['limit', 'offset', 'count'];

export const queryTemporalEntitiesHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, {}, async (ngsi, req, res) => {
    allowOnly(req, [...TEMPORAL_PARAMS, ...PAGE_PARAMS, 'type', 'id', 'idPattern']);
    await answerTemporalQuery(deps, ngsi, req, res, req.query);
  });

type Body = Record<string, unknown>;

/** The POST form: a Query body (5.2.23) whose members become the parameters of the GET form. */
export const temporalQueryHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true }, async (ngsi, req, res) => {
    allowOnly(req, ['lastN', 'options', 'format', 'aggrMethods', 'aggrPeriodDuration', 'lang', ...PAGE_PARAMS, 'local']);
    const body = ngsi.body as Body;
    if (typeof body !== 'object' || body === null || Array.isArray(body) || body.type !== 'Query') throw badRequest('The body must be a Query ("type": "Query")');
    const params: Body = { ...req.query };
    const text = (name: string, v: unknown) => {
      if (v === undefined) return;
      if (typeof v !== 'string') throw badRequest(`${name} must be a string`);
      params[name] = v;
    };
    const entities = body.entities;
    if (entities !== undefined) {
      if (!Array.isArray(entities) || entities.length !== 1) throw badRequest('entities must hold one entity selector here');
      const [selector] = entities as Body[];
      text('type', selector.type);
      text('id', selector.id);
      text('idPattern', selector.idPattern);
    }
    if (body.attrs !== undefined) {
      if (!Array.isArray(body.attrs) || !body.attrs.every((a) => typeof a === 'string')) throw badRequest('attrs must be a list of attribute names');
      params.attrs = body.attrs.join(',');
    }
    text('q', body.q);
    text('scopeQ', body.scopeQ);
    text('lang', body.lang);
    for (const [name, v] of Object.entries(member(body, 'geoQ'))) params[name] = typeof v === 'string' ? v : JSON.stringify(v);
    // Aggregation comes in temporalQ (V1.8) or in aggrParams (5.2.44); methods as a list or a comma-separated string.
    const aggregation: Body = {};
    for (const [name, v] of Object.entries({ ...member(body, 'temporalQ'), ...member(body, 'aggrParams') })) {
      if (name === 'aggrMethods' || name === 'aggrPeriodDuration') aggregation[name] = v;
      else params[name] = String(v);
    }
    if (aggregation.aggrMethods !== undefined) {
      const m = aggregation.aggrMethods;
      if (!(typeof m === 'string' || (Array.isArray(m) && m.every((x) => typeof x === 'string')))) throw badRequest('aggrMethods must be a list of strings or a comma-separated string');
      params.aggrMethods = Array.isArray(m) ? m.join(',') : m;
      // Asking for aggregation methods asks for the aggregated representation, unless another one is named.
      if (params.format === undefined && params.options === undefined) params.format = 'aggregatedValues';
    }
    text('aggrPeriodDuration', aggregation.aggrPeriodDuration);
    await answerTemporalQuery(deps, ngsi, req, res, params);
  });

/** An optional object member of the Query body. */
function member(body: Body, name: string): Body {
  const v = body[name];
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest(`${name} must be an object`);
  return v as Body;
}

async function answerTemporalQuery(deps: BrokerDeps, ngsi: NgsiRequest, req: Request, res: Response, q: Body): Promise<void> {
  const t = temporalRequest(q, ngsi);
  const type = param(q, 'type');
  if (type !== undefined) t.selection.types = parseTypeExpression(type).flat().map((n) => ngsi.ctx.expandTerm(n));
  const ids = list(q, 'id');
  if (ids) t.selection.ids = ids;
  const idPattern = param(q, 'idPattern');
  if (idPattern !== undefined) t.selection.idPattern = idPattern;
  const { q: qFilter, scopes, geo } = t.filters;
  if (!t.selection.types && !t.selection.ids && !t.selection.idPattern && !t.selection.attrs && !qFilter && !scopes && !geo) {
    throw badRequest('A temporal query needs type, id, idPattern, attrs, q, scopeQ or a geo-query');
  }
  const p = page(q, deps.config.defaultLimit, deps.config.maxLimit);
  await requireTenant(deps, ngsi.tenant);
  const matched = await applyEntityFilters(deps, ngsi.tenant, t);
  const entities = matched ? await deps.store.historyEntities(ngsi.tenant, t.selection, p.limit + 1, p.offset) : [];
  if (p.count) res.setHeader('NGSILD-Results-Count', String(matched ? await deps.store.historyEntityCount(ngsi.tenant, t.selection) : 0));
  const hasMore = entities.length > p.limit;
  if (hasMore) entities.length = p.limit;
  paginationLinks(req, res, ngsi.accept, p, hasMore);
  const history = await renderHistory(deps, ngsi.tenant, t, entities);
  sendHistory(req, res, ngsi, history, history.entities);
}
