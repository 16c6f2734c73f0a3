/** GET /temporal/entities/{entityId} (5.7.3): one entity's attribute history. */
import { notFound } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { allowOnly } from '../http/params';
import { entityIdParam, requireTenant } from '../entities/shared';
import { applyEntityFilters, renderHistory, sendHistory, TEMPORAL_PARAMS, temporalRequest } from './temporalRequest';

export const retrieveTemporalEntityHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, {}, async (ngsi, req, res) => {
    allowOnly(req, TEMPORAL_PARAMS);
    const id = entityIdParam(req);
    const t = temporalRequest(req.query, ngsi);
    await requireTenant(deps, ngsi.tenant);
    t.selection.ids = [id];
    const [entity] = (await applyEntityFilters(deps, ngsi.tenant, t)) ? await deps.store.historyEntities(ngsi.tenant, { ids: [id] }, 1, 0) : [];
    if (!entity) throw notFound(`Entity ${id} has no history`);
    const history = await renderHistory(deps, ngsi.tenant, t, [entity]);
    sendHistory(req, res, ngsi, history, history.entities[0]);
  });
