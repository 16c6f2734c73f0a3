/** PUT /entities/{entityId} (5.6.18). */
import { EntityParser, nowIso, replaceEntity } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendNoContent } from '../http/respond';
import { changeEntity, checkBodyId, entityIdParam } from './shared';

export const replaceEntityHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, req, res) => {
    const id = entityIdParam(req);
    const fragment = new EntityParser(ngsi.ctx).entity(ngsi.body);
    checkBodyId(fragment.id, id);
    await changeEntity(deps, ngsi, id, (current) => ({ entity: replaceEntity(current, fragment, nowIso()), result: undefined }));
    sendNoContent(res);
  });
