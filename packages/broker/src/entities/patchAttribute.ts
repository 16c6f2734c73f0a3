/** PATCH /entities/{entityId}/attrs/{attrId} (5.6.4): partial update of one attribute instance. */
import { badRequest, EntityParser, nowIso, patchAttribute } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendNoContent } from '../http/respond';
import { attrIdParam, changeEntity, entityIdParam, SCOPE_NAME, typeSelector } from './shared';

export const patchAttributeHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: ['type'] }, async (ngsi, req, res) => {
    const id = entityIdParam(req);
    const name = attrIdParam(req);
    if (name === SCOPE_NAME) throw badRequest('scope is not an attribute; update it through the entity');
    const patch = new EntityParser(ngsi.ctx, { fragment: true }).single(name, ngsi.body);
    const declared = (ngsi.body as { type?: unknown }).type;
    const iri = ngsi.ctx.expandTerm(name);
    await changeEntity(
      deps,
      ngsi,
      id,
      (current) => ({ entity: patchAttribute(current, iri, patch, nowIso(), name, typeof declared === 'string' ? declared : undefined), result: undefined }),
      typeSelector(req, ngsi),
    );
    sendNoContent(res);
  });
