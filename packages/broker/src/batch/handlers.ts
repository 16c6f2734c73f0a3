/** POST /entityOperations/{create,upsert,update,delete,merge}. */
import {
  appendAttributes,
  badRequest,
  createEntity,
  isUri,
  mergeEntity,
  NgsiError,
  notFound,
  replaceEntity,
} from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { options } from '../http/params';
import { sendJson, sendNoContent } from '../http/respond';
import { parseElements, ParsedElement, runBatch, sendBatch, sendIds } from './batch';

const alreadyExists = (id: string) => new NgsiError('AlreadyExists', `Entity ${id} already exists`);
const missing = (id: string) => notFound(`Entity ${id} does not exist`);

export const batchCreateHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, _req, res) => {
    const elements = await parseElements(deps, ngsi, { requireIdAndType: true });
    const outcome = await runBatch(deps, ngsi.tenant, elements, (e, current, now) =>
      current ? alreadyExists(e.id) : { entity: createEntity(e.fragment!, now), created: true }, { createTenant: true });
    sendBatch(res, outcome, () => sendJson(res, 201, outcome.success));
  });

export const batchUpsertHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: ['options'] }, async (ngsi, req, res) => {
    const opts = options(req.query);
    if (opts.has('replace') && opts.has('update')) throw badRequest('options cannot be both replace and update');
    const update = opts.has('update');
    const elements = await parseElements(deps, ngsi, { requireIdAndType: true });
    const outcome = await runBatch(deps, ngsi.tenant, elements, (e, current, now) => {
      if (!current) return { entity: createEntity(e.fragment!, now), created: true };
      if (!update) return { entity: replaceEntity(current, e.fragment!, now), created: false };
      return { entity: appendAttributes(current, e.fragment!, now, false).entity, created: false };
    }, { createTenant: true, retryConflicts: true });
    sendBatch(res, outcome, () => sendIds(res, outcome.created));
  });

export const batchUpdateHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: ['options'] }, async (ngsi, req, res) => {
    const noOverwrite = options(req.query).has('noOverwrite');
    const elements = await parseElements(deps, ngsi, {});
    const outcome = await runBatch(deps, ngsi.tenant, elements, (e, current, now) => {
      if (!current) return missing(e.id);
      const { entity, result } = appendAttributes(current, e.fragment!, now, noOverwrite);
      if (result.notUpdated.length === 0) return { entity, created: false };
      // What could be appended is written; the entity is still reported, naming what was kept (5.6.9).
      return { entity, created: false, error: badRequest(`Not updated (noOverwrite): ${result.notUpdated.map((n) => n.attributeName).join(', ')}`) };
    }, {});
    sendBatch(res, outcome, () => sendNoContent(res));
  });

export const batchMergeHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, _req, res) => {
    const elements = await parseElements(deps, ngsi, { fragment: true, mergeValues: true });
    const outcome = await runBatch(deps, ngsi.tenant, elements, (e, current, now) =>
      current ? { entity: mergeEntity(current, e.fragment!, now), created: false } : missing(e.id), {});
    sendBatch(res, outcome, () => sendNoContent(res));
  });

export const batchDeleteHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, _req, res) => {
    const ids = ngsi.body;
    if (!Array.isArray(ids) || ids.length === 0) throw badRequest('A batch delete body must be a non-empty array of entity ids');
    const elements: ParsedElement[] = ids.map((id) =>
      isUri(id) ? { id } : { id: String(id), error: badRequest(`${JSON.stringify(id)} is not a URI`) });
    const outcome = await runBatch(deps, ngsi.tenant, elements, (e, current) => (current ? { deleted: true } : missing(e.id)), {});
    sendBatch(res, outcome, () => sendNoContent(res));
  });
