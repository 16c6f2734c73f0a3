/** DELETE /entities/{entityId}/attrs/{attrId} (5.6.5), with datasetId and deleteAll. */
import { badRequest, deleteAttribute, deleteScope, isUri, nowIso, StoredEntity } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { flag, param } from '../http/params';
import { sendNoContent } from '../http/respond';
import { attrIdParam, changeEntity, entityIdParam, SCOPE_NAME, typeSelector } from './shared';

export const deleteAttributeHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { produces: false, params: ['datasetId', 'deleteAll', 'type'] }, async (ngsi, req, res) => {
    const id = entityIdParam(req);
    const name = attrIdParam(req);
    const deleteAll = flag(req.query, 'deleteAll');
    let datasetId = param(req.query, 'datasetId');
    if (datasetId === '@none') datasetId = undefined;
    if (datasetId !== undefined && !isUri(datasetId)) throw badRequest('datasetId must be a URI');
    const iri = ngsi.ctx.expandTerm(name);
    const remove = name === SCOPE_NAME
      ? (current: StoredEntity) => deleteScope(current, nowIso())
      : (current: StoredEntity) => deleteAttribute(current, iri, nowIso(), name, { datasetId, deleteAll });
    await changeEntity(deps, ngsi, id, (current) => ({ entity: remove(current), result: undefined }), typeSelector(req, ngsi));
    sendNoContent(res);
  });
