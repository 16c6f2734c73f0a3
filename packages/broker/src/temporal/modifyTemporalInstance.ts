/** PATCH /temporal/entities/{entityId}/attrs/{attrId}/{instanceId} (5.6.14): replace one instance of the history. */
import { EntityParser, notFound, nowIso, stamp } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendNoContent } from '../http/respond';
import { entityIdParam, requireTenant } from '../entities/shared';
import { instanceIdParam } from './temporalWrites';

export const modifyTemporalInstanceHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, req, res) => {
    const id = entityIdParam(req);
    const instanceId = instanceIdParam(req);
    const name = req.params.attrId;
    // The body is the attribute fragment, as in PATCH /entities/{id}/attrs: {name: instance}.
    const fragment = new EntityParser(ngsi.ctx, { temporal: true }).entity(ngsi.body);
    const iri = ngsi.ctx.expandTerm(name);
    const [instance] = fragment.attrs[iri] ?? [];
    if (!instance) throw notFound(`The body has no instance of ${name}`);
    await requireTenant(deps, ngsi.tenant);
    if (!(await deps.store.replaceHistoryInstance(ngsi.tenant, id, iri, instanceId, stamp(instance, nowIso())))) {
      throw notFound(`Entity ${id} has no instance ${req.params.instanceId} of ${name}`);
    }
    sendNoContent(res);
  });
