/** POST /temporal/entities/{entityId}/attrs (5.6.12): add instances to attributes' history. */
import { EntityParser } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendNoContent } from '../http/respond';
import { checkBodyId, entityIdParam } from '../entities/shared';
import { historyInstancesOf } from './temporalWrites';

export const appendTemporalAttributesHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, req, res) => {
    const id = entityIdParam(req);
    const fragment = new EntityParser(ngsi.ctx, { temporal: true }).entity(ngsi.body);
    checkBodyId(fragment.id, id);
    await deps.store.appendHistory(ngsi.tenant, id, fragment.types, historyInstancesOf(fragment));
    sendNoContent(res);
  });
