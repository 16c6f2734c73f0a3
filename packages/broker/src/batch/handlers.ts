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
import { checkedTenant, ngsiHandler } from '../http/pipeline';
import { parseJsonText } from '../http/jsonBody';
import { options } from '../http/params';
import { sendJson, sendNoContent } from '../http/respond';
import { BatchOutcome, parseElements, ParsedElement, runBatch, sendBatch, sendIds } from './batch';

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
    const outcome = await upsert(deps, ngsi.tenant, await parseElements(deps, ngsi, UPSERT_MODE), opts.has('update'));
    sendBatch(res, outcome, () => sendIds(res, outcome.created));
  });

const UPSERT_MODE = { requireIdAndType: true };

/** 5.6.8: new entities are created; existing ones are replaced, or with `update` given only the attributes sent. */
function upsert(deps: BrokerDeps, tenant: string, elements: ParsedElement[], update: boolean) {
  return runBatch(deps, tenant, elements, (e, current, now) => {
    if (!current) return { entity: createEntity(e.fragment!, now), created: true };
    if (!update) return { entity: replaceEntity(current, e.fragment!, now), created: false };
    return { entity: appendAttributes(current, e.fragment!, now, false).entity, created: false };
  }, { createTenant: true, retryConflicts: true });
}

/**
 * The batch upsert for a caller in this process (the all-in-one IoT agent):
 * what POST /entityOperations/upsert does with a JSON body, an NGSILD-Tenant
 * and a Link header, without the HTTP round trip. The entities go through
 * JSON as a request body would, so that both paths accept exactly the same.
 */
export async function upsertInProcess(
  deps: BrokerDeps,
  request: { tenant?: string; contextUrl?: string; entities: unknown[]; update: boolean },
): Promise<BatchOutcome> {
  const tenant = checkedTenant(request.tenant);
  const body = parseJsonText(JSON.stringify(request.entities), deps.config.maxBodyDepth);
  const ctx = await deps.contexts.resolve(request.contextUrl);
  const { success, errors } = await upsert(deps, tenant, await parseElements(deps, { body, ldBody: false, ctx }, UPSERT_MODE), request.update);
  return { success, errors };
}

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
