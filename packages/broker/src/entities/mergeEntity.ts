/** PATCH /entities/{entityId} (5.6.17): JSON merge-patch of an entity. */
import { EntityParser, mergeEntity, nowIso } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendNoContent } from '../http/respond';
import { changeEntity, checkBodyId, entityIdParam } from './shared';

export const mergeEntityHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: ['options', 'format'] }, async (ngsi, req, res) => {
    const id = entityIdParam(req);
    const fragment = new EntityParser(ngsi.ctx, { fragment: true, mergeValues: true }).entity(ngsi.body);
    checkBodyId(fragment.id, id);
    await changeEntity(deps, ngsi, id, (current) => ({ entity: mergeEntity(current, fragment, nowIso()), result: undefined }));
    sendNoContent(res);
  });
