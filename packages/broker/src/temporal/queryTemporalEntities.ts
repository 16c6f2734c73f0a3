/**
 * GET /temporal/entities and POST /temporal/entityOperations/query (5.7.4):
 * the history of the entities a query selects, a page of entities at a time.
 */
import type { ServerResponse } from 'node:http';
import type { ApiRequest } from '../http/apiRequest';
import { badRequest, parseOrdering, parseTypeExpression } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler, NgsiRequest } from '../http/pipeline';
import { flag, idSelection, page, param } from '../http/params';
import { paginationLinks } from '../http/respond';
import { requireTenant } from '../entities/shared';
import { checkContextSourceFilter, namesAttributes } from '../entities/queryEntities';
import { applyEntityFilters, renderHistory, sendHistory, TEMPORAL_PARAMS, temporalRequest } from './temporalRequest';

const PAGE_PARAMS = ['limit', 'offset', 'count'];

export const queryTemporalEntitiesHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { params: [...TEMPORAL_PARAMS, ...PAGE_PARAMS, 'type', 'id', 'idPattern', 'orderBy', 'csf'] }, async (ngsi, req, res) => {
    await answerTemporalQuery(deps, ngsi, req, res, req.query);
  });

type Body = Record<string, unknown>;

/** The POST form: a Query body (5.2.23) whose members become the parameters of the GET form. */
export const temporalQueryHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, params: ['lastN', 'options', 'format', 'aggrMethods', 'aggrPeriodDuration', 'lang', ...PAGE_PARAMS, 'local'] }, async (ngsi, req, res) => {
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
      // Selectors are joined into one selection: their types, their ids, and one idPattern.
      if (!Array.isArray(entities) || entities.length === 0) throw badRequest('entities must be a non-empty list of entity selectors');
      const selectors = entities as Body[];
      const joined = (name: string) => {
        const values = selectors.map((s) => s[name]).filter((v) => v !== undefined);
        if (values.some((v) => typeof v !== 'string')) throw badRequest(`An entity selector's ${name} must be a string`);
        return values.length > 0 ? values.join(',') : undefined;
      };
      if (selectors.some((s) => typeof s !== 'object' || s === null || typeof s.type !== 'string')) throw badRequest('Every entity selector needs a type');
      text('type', joined('type'));
      text('id', joined('id'));
      if (selectors.filter((s) => s.idPattern !== undefined).length > 1) throw badRequest('One idPattern per temporal query');
      text('idPattern', joined('idPattern'));
    }
    if (body.attrs !== undefined) {
      if (!Array.isArray(body.attrs) || !body.attrs.every((a) => typeof a === 'string')) throw badRequest('attrs must be a list of attribute names');
      params.attrs = body.attrs.join(',');
    }
    for (const name of ['q', 'scopeQ', 'lang', 'csf', 'expandValues', 'jsonKeys']) text(name, body[name]);
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

async function answerTemporalQuery(deps: BrokerDeps, ngsi: NgsiRequest, req: ApiRequest, res: ServerResponse, q: Body): Promise<void> {
  const t = temporalRequest(q, ngsi);
  const type = param(q, 'type');
  if (type !== undefined) t.selection.types = parseTypeExpression(type).flat().map((n) => ngsi.ctx.expandTerm(n));
  Object.assign(t.selection, idSelection(q));
  checkContextSourceFilter(param(q, 'csf'));
  const descending = idOrder(param(q, 'orderBy'), ngsi);
  const { q: qFilter, scopes, geo } = t.filters;
  // As for entities (5.7.2.4): ids alone, or system attributes alone, are too wide a net unless local=true.
  const named = namesAttributes({ attrs: t.selection.attrs, q: qFilter }, ngsi.ctx);
  if (!t.selection.types && !named && !scopes && !geo && !flag(q, 'local')) {
    throw badRequest('A temporal query needs type, attrs or q on a non-system attribute, scopeQ, a geo-query, or local=true');
  }
  const p = page(q, deps.config.defaultLimit, deps.config.maxLimit);
  await requireTenant(deps, ngsi.tenant);
  const matched = await applyEntityFilters(deps, ngsi.tenant, t);
  const entities = matched ? await deps.store.historyEntities(ngsi.tenant, t.selection, p.limit + 1, p.offset, descending) : [];
  if (p.count) res.setHeader('NGSILD-Results-Count', String(matched ? await deps.store.historyEntityCount(ngsi.tenant, t.selection) : 0));
  const hasMore = entities.length > p.limit;
  if (hasMore) entities.length = p.limit;
  paginationLinks(req, res, ngsi.accept, p, hasMore);
  const history = await renderHistory(deps, ngsi.tenant, t, entities);
  sendHistory(req, res, ngsi, history, history.entities);
}

/** orderBy of a temporal query (5.7.4.4): by entity id only; true for descending. */
function idOrder(orderBy: string | undefined, ngsi: NgsiRequest): boolean {
  const ordering = parseOrdering({ orderBy }, ngsi.ctx);
  if (!ordering) return false;
  const [key, ...more] = ordering.keys;
  if (more.length > 0 || key.kind !== 'member' || key.member !== 'id') throw badRequest('A temporal query orders by id only');
  return key.descending;
}
