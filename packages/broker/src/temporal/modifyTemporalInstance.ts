/** PATCH /temporal/entities/{entityId}/attrs/{attrId}/{instanceId} (5.6.14): replace one instance of the history. */
import { EntityParser, notFound, nowIso, stamp } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendNoContent } from '../http/respond';
import { attrIdParam, entityIdParam, requireTenant } from '../entities/shared';
import { instanceIdParam } from './temporalWrites';

export const modifyTemporalInstanceHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, req, res) => {
    const id = entityIdParam(req);
    const name = attrIdParam(req);
    const instanceId = instanceIdParam(req);
    const iri = ngsi.ctx.expandTerm(name);
    const parser = new EntityParser(ngsi.ctx, { temporal: true });
    // The body is the instance itself (as the URL names the attribute), or a fragment {name: instance}.
    const body = ngsi.body as Record<string, unknown> | undefined;
    const instance = isInstance(body) ? parser.single(name, body) : (parser.entity(ngsi.body).attrs[iri] ?? [])[0];
    if (!instance) throw notFound(`The body has no instance of ${name}`);
    await requireTenant(deps, ngsi.tenant);
    if (instanceId === undefined || !(await deps.store.replaceHistoryInstance(ngsi.tenant, id, iri, instanceId, stamp(instance, nowIso())))) {
      throw notFound(`Entity ${id} has no instance ${req.params.instanceId} of ${name}`);
    }
    sendNoContent(res);
  });

/** An attribute instance rather than a fragment: its type and content at the top. */
function isInstance(body: Record<string, unknown> | undefined): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && typeof body.type === 'string' && ['value', 'object', 'languageMap', 'vocab', 'json', 'valueList', 'objectList'].some((k) => k in body);
}
