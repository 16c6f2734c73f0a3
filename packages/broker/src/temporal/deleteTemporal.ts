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
import { attrIdParam, entityIdParam, requireTenant } from '../entities/shared';
import { instanceIdParam } from './temporalWrites';

export const deleteTemporalEntityHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { produces: false, params: [] }, async (ngsi, req, res) => {
    await deleteOrNotFound(deps, ngsi.tenant, entityIdParam(req), {}, 'has no history');
    sendNoContent(res);
  });

export const deleteTemporalAttributeHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { produces: false, params: ['datasetId', 'deleteAll'] }, async (ngsi, req, res) => {
    const name = attrIdParam(req);
    const deletion: HistoryDeletion = { attr: ngsi.ctx.expandTerm(name), deleteAll: flag(req.query, 'deleteAll') };
    const datasetId = param(req.query, 'datasetId');
    if (datasetId !== undefined) deletion.datasetId = datasetId;
    await deleteOrNotFound(deps, ngsi.tenant, entityIdParam(req), deletion, `has no history of ${name}`);
    sendNoContent(res);
  });

export const deleteTemporalInstanceHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { produces: false, params: [] }, async (ngsi, req, res) => {
    const id = entityIdParam(req);
    const name = attrIdParam(req);
    const instanceId = instanceIdParam(req);
    const deletion = instanceId === undefined ? undefined : { attr: ngsi.ctx.expandTerm(name), instanceId };
    await deleteOrNotFound(deps, ngsi.tenant, id, deletion, `has no such instance of ${name}`);
    sendNoContent(res);
  });

/** Without a deletion the request names nothing this broker could hold: not found, once the tenant is known. */
async function deleteOrNotFound(deps: BrokerDeps, tenant: string, id: string, deletion: HistoryDeletion | undefined, missing: string): Promise<void> {
  await requireTenant(deps, tenant);
  if (!deletion || (await deps.store.deleteHistory(tenant, id, deletion)) === 0) throw notFound(`Entity ${id} ${missing}`);
}
