/** POST /entities (5.6.1). */
import { createEntity, EntityParser, NgsiError, nowIso } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendCreated } from '../http/respond';

export const createEntityHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, _req, res) => {
    const fragment = new EntityParser(ngsi.ctx, { requireIdAndType: true }).entity(ngsi.body);
    const entity = createEntity(fragment, nowIso());
    const { conflicts } = await deps.store.mutate(ngsi.tenant, [], () => ({ inserts: [entity], result: undefined }), { createTenant: true });
    if (conflicts.length > 0) throw new NgsiError('AlreadyExists', `Entity ${entity.id} already exists`);
    sendCreated(res, `/entities/${entity.id}`);
  });
