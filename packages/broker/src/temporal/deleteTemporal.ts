/**
 * Deleting history: a whole temporal entity (5.6.16), an attribute's
 * history (5.6.13, with datasetId / deleteAll), one instance (5.6.15).
 */
import { notFound } from '@civitas/core';
import type { HistoryDeletion } from '@civitas/store';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { flag, param } from '../http/params';
import { sendNoContent } from '../http/respond';
import { entityIdParam, requireTenant } from '../entities/shared';
import { instanceIdParam } from './temporalWrites';

export const deleteTemporalEntityHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { produces: false, params: [] }, async (ngsi, req, res) => {
    await deleteOrNotFound(deps, ngsi.tenant, entityIdParam(req), {}, 'has no history');
    sendNoContent(res);
  });

export const deleteTemporalAttributeHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { produces: false, params: ['datasetId', 'deleteAll'] }, async (ngsi, req, res) => {
    const deletion: HistoryDeletion = { attr: ngsi.ctx.expandTerm(req.params.attrId), deleteAll: flag(req.query, 'deleteAll') };
    const datasetId = param(req.query, 'datasetId');
    if (datasetId !== undefined) deletion.datasetId = datasetId;
    await deleteOrNotFound(deps, ngsi.tenant, entityIdParam(req), deletion, `has no history of ${req.params.attrId}`);
    sendNoContent(res);
  });

export const deleteTemporalInstanceHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { produces: false, params: [] }, async (ngsi, req, res) => {
    const deletion = { attr: ngsi.ctx.expandTerm(req.params.attrId), instanceId: instanceIdParam(req) };
    await deleteOrNotFound(deps, ngsi.tenant, entityIdParam(req), deletion, `has no such instance of ${req.params.attrId}`);
    sendNoContent(res);
  });

async function deleteOrNotFound(deps: BrokerDeps, tenant: string, id: string, deletion: HistoryDeletion, missing: string): Promise<void> {
  await requireTenant(deps, tenant);
  if ((await deps.store.deleteHistory(tenant, id, deletion)) === 0) throw notFound(`Entity ${id} ${missing}`);
}
