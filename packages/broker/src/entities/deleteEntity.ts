/** DELETE /entities/{entityId} (5.6.6). */
import { notFound } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendNoContent } from '../http/respond';
import { entityIdParam, hasAnyType, typeSelector } from './shared';

export const deleteEntityHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { produces: false, params: ['type'] }, async (ngsi, req, res) => {
    const id = entityIdParam(req);
    const types = typeSelector(req, ngsi);
    await deps.store.mutate(ngsi.tenant, [id], (current) => {
      const entity = current.get(id);
      if (!entity || !hasAnyType(entity, types)) throw notFound(`Entity ${id} does not exist`);
      return { deletes: [id], result: undefined };
    });
    sendNoContent(res);
  });
