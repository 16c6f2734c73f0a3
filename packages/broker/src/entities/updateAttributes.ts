/** PATCH /entities/{entityId}/attrs (5.6.2). */
import { EntityParser, nowIso, updateAttributes } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { changeEntity, checkBodyId, entityIdParam, typeSelector } from './shared';
import { sendUpdateResult } from './updateResult';

export const updateAttributesHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: ['type'] }, async (ngsi, req, res) => {
    const id = entityIdParam(req);
    const fragment = new EntityParser(ngsi.ctx, { fragment: true }).entity(ngsi.body);
    checkBodyId(fragment.id, id);
    const result = await changeEntity(deps, ngsi, id, (current) => updateAttributes(current, fragment, nowIso()), typeSelector(req, ngsi));
    sendUpdateResult(res, result);
  });
