/** PUT /entities/{entityId}/attrs/{attrId} (5.6.19). */
import { badRequest, EntityParser, nowIso, replaceAttribute } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendNoContent } from '../http/respond';
import { attrIdParam, changeEntity, entityIdParam, SCOPE_NAME, typeSelector } from './shared';

export const replaceAttributeHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: ['type'] }, async (ngsi, req, res) => {
    const id = entityIdParam(req);
    const name = attrIdParam(req);
    if (name === SCOPE_NAME) throw badRequest('scope is not an attribute; replace it through the entity');
    const inst = new EntityParser(ngsi.ctx).single(name, ngsi.body);
    const iri = ngsi.ctx.expandTerm(name);
    await changeEntity(deps, ngsi, id, (current) => ({ entity: replaceAttribute(current, iri, inst, nowIso(), name), result: undefined }), typeSelector(req, ngsi));
    sendNoContent(res);
  });
