/** POST /temporal/entities (5.6.11): create a temporal entity, or add to the history of an existing one. */
import { EntityParser } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { allowOnly } from '../http/params';
import { sendNoContent } from '../http/respond';
import { historyInstancesOf } from './temporalWrites';

export const createTemporalEntityHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false }, async (ngsi, req, res) => {
    allowOnly(req, []);
    const fragment = new EntityParser(ngsi.ctx, { requireIdAndType: true, temporal: true }).entity(ngsi.body);
    const id = fragment.id!;
    const { existed } = await deps.store.appendHistory(ngsi.tenant, id, fragment.types, historyInstancesOf(fragment), { createTenant: true });
    if (existed) {
      sendNoContent(res);
      return;
    }
    res.status(201).setHeader('Location', encodeURI(`${req.baseUrl}/temporal/entities/${id}`));
    res.end();
  });
