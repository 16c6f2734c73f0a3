/** POST /entities/{entityId}/attrs (5.6.3), with options=noOverwrite. */
import { appendAttributes, EntityParser, nowIso } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { options } from '../http/params';
import { changeEntity, checkBodyId, entityIdParam, typeSelector } from './shared';
import { sendUpdateResult } from './updateResult';

export const appendAttributesHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: ['options', 'type'] }, async (ngsi, req, res) => {
    const id = entityIdParam(req);
    const noOverwrite = options(req.query).has('noOverwrite');
    const fragment = new EntityParser(ngsi.ctx, { fragment: true }).entity(ngsi.body);
    checkBodyId(fragment.id, id);
    const result = await changeEntity(deps, ngsi, id, (current) => appendAttributes(current, fragment, nowIso(), noOverwrite), typeSelector(req, ngsi));
    sendUpdateResult(res, result);
  });
