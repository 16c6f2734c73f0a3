/** GET /temporal/entities (5.7.4): the history of the entities a query selects, a page of entities at a time. */
import { badRequest, parseTypeExpression } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { allowOnly, list, page, param } from '../http/params';
import { paginationLinks, sendRepresentation } from '../http/respond';
import { tenantNotFound } from '../entities/shared';
import { renderHistory, TEMPORAL_PARAMS, temporalRequest } from './temporalRequest';

export const queryTemporalEntitiesHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, {}, async (ngsi, req, res) => {
    allowOnly(req, [...TEMPORAL_PARAMS, 'type', 'id', 'idPattern', 'limit', 'offset']);
    const t = temporalRequest(req, ngsi);
    const type = param(req.query, 'type');
    if (type !== undefined) t.selection.types = parseTypeExpression(type).flat().map((n) => ngsi.ctx.expandTerm(n));
    const ids = list(req.query, 'id');
    if (ids) t.selection.ids = ids;
    const idPattern = param(req.query, 'idPattern');
    if (idPattern !== undefined) t.selection.idPattern = idPattern;
    if (!t.selection.types && !t.selection.ids && !t.selection.idPattern && !t.selection.attrs) {
      throw badRequest('A temporal query needs type, id, idPattern or attrs');
    }
    const p = page(req.query, deps.config.defaultLimit, deps.config.maxLimit);
    if (!(await deps.store.tenantExists(ngsi.tenant))) throw tenantNotFound(ngsi.tenant);
    const entities = await deps.store.historyEntities(ngsi.tenant, t.selection, p.limit + 1, p.offset);
    const hasMore = entities.length > p.limit;
    if (hasMore) entities.length = p.limit;
    paginationLinks(req, res, ngsi.accept, p, hasMore);
    sendRepresentation(req, res, ngsi, await renderHistory(deps, ngsi.tenant, t, entities));
  });
