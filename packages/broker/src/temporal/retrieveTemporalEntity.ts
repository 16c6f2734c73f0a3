/** GET /temporal/entities/{entityId} (5.7.3): one entity's attribute history. */
import { notFound } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { entityIdParam, requireTenant } from '../entities/shared';
import { applyEntityFilters, renderHistory, sendHistory, TEMPORAL_PARAMS, temporalRequest } from './temporalRequest';

export const retrieveTemporalEntityHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { params: TEMPORAL_PARAMS }, async (ngsi, req, res) => {
    const id = entityIdParam(req);
    const t = temporalRequest(req.query, ngsi);
    await requireTenant(deps, ngsi.tenant);
    t.selection.ids = [id];
    // An entity without history of the attributes asked for is not found (5.7.3.4).
    const [entity] = (await applyEntityFilters(deps, ngsi.tenant, t)) ? await deps.store.historyEntities(ngsi.tenant, { ids: [id], attrs: t.selection.attrs }, 1, 0) : [];
    if (!entity) throw notFound(t.selection.attrs ? `Entity ${id} has no history of ${t.selection.attrs.join(', ')}` : `Entity ${id} has no history`);
    const history = await renderHistory(deps, ngsi.tenant, t, [entity]);
    // Nothing left once pick / omit applied: nothing found either (4.21).
    if (Object.keys(history.entities[0]).length === 0) throw notFound(`Nothing of entity ${id} is left by pick / omit`);
    sendHistory(req, res, ngsi, history, history.entities[0]);
  });
